"""The statistics objects of a configuration and their identities (any process).

Standard library only (lb.config.model, lb.shm).  HAProxy's stats list
proxies in configuration order, each as: FRONTEND, its listeners (with
`option socket-stats`), its servers, BACKEND.  `catalog(config)` gives
that list once per generation; every entry knows its shared-memory rows
(lb.shm.layout "Objects") and a `key` that names it across reloads, so
that counters and runtime changes follow an object that keeps its name.

Proxy ids (`iid`) are HAProxy's: proxies numbered in configuration order
from 1, after the CLI's own frontend ("GLOBAL") when a `stats socket`
exists.  Listener ids are the binds' (`listener_ids`), server ids the
servers' `id`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lb.config.model import MODE_HTTP, Bind, Config, Proxy, Server, listener_ids
from lb.limits import default_maxconn



@dataclass
class StatObject:
    """One row of `show stat`: a frontend, listener, server or backend."""

    kind: str  # "F" | "L" | "S" | "B"
    key: tuple  # identity across generations: ("F", name), ("S", backend, server) ...
    proxy: Proxy
    iid: int
    sid: int
    rows: tuple[int, ...]  # shm object rows whose counters add up to this object's
    http: bool
    server: Server | None = None
    server_index: int = -1  # index in Config.all_servers() (servers)
    position: int = 0  # servers: rank in their backend, from 1
    backend_index: int = -1  # index in Config.backends (backends, servers)
    proxy_index: int = -1  # index in Config.proxies() (frontends, listeners)
    bind: Bind | None = None
    servers: list["StatObject"] = field(default_factory=list)  # a backend's servers

    @property
    def name(self) -> str:
        """svname: FRONTEND, BACKEND, the server's or the listener's name."""
        if self.kind == "F":
            return "FRONTEND"
        if self.kind == "B":
            return "BACKEND"
        if self.kind == "S":
            return self.server.name  # type: ignore[union-attr]
        return self.bind.options.get("name") or f"sock-{self.sid}"  # type: ignore[union-attr]


def config_order(config: Config) -> list[Proxy]:
    """Enabled proxies in the order of the configuration files (HAProxy's proxies list)."""
    files = {name: position for position, name in enumerate(config.files)}
    proxies = [p for p in config.proxies() if not p.disabled]
    return sorted(proxies, key=lambda p: (files.get(p.loc.file, len(files)), p.loc.line) if p.loc else (len(files), 0))


def proxy_ids(config: Config) -> dict[int, int]:
    """id(Proxy) -> HAProxy's uuid (iid) for every proxy, disabled ones included."""
    first = 2 if config.global_.stats_sockets else 1  # uuid 1 goes to the CLI's "GLOBAL" frontend
    files = {name: position for position, name in enumerate(config.files)}
    ordered = sorted(config.proxies(), key=lambda p: (files.get(p.loc.file, len(files)), p.loc.line)
                     if p.loc else (len(files), 0))  # fmt: skip
    return {id(proxy): first + position for position, proxy in enumerate(ordered)}


def catalog(config: Config, nproxies: int, nservers: int, nbackends: int) -> list[StatObject]:
    """Every statistics object of `config`, in `show stat` order."""
    proxy_index = {id(p): i for i, p in enumerate(config.proxies())}
    backend_index = {id(p): i for i, p in enumerate(config.backends.values())}
    server_index = {id(s): i for i, (_b, s) in enumerate(config.all_servers())}
    listener_base, offset = {}, 0
    for frontend in config.frontends.values():
        listener_base[id(frontend)] = offset
        offset += len(frontend.binds)
    uuids = proxy_ids(config)
    servers_base, backends_base = nproxies, nproxies + nservers
    objects: list[StatObject] = []
    for proxy in config_order(config):
        iid, http, pindex = uuids[id(proxy)], proxy.mode == MODE_HTTP, proxy_index[id(proxy)]
        if proxy.is_frontend:
            objects.append(StatObject("F", ("F", proxy.name), proxy, iid, 0, (pindex,), http, proxy_index=pindex))
            if proxy.option("socket-stats"):
                base = backends_base + nbackends + listener_base[id(proxy)]
                for position, (bind, luid) in enumerate(zip(proxy.binds, listener_ids(proxy.binds), strict=True)):
                    key = ("L", proxy.name, bind.options.get("name") or luid)
                    objects.append(StatObject("L", key, proxy, iid, luid, (base + position,), http,
                                              proxy_index=pindex, bind=bind))  # fmt: skip
        if proxy.is_backend:
            bindex = backend_index[id(proxy)]
            backend = StatObject("B", ("B", proxy.name), proxy, iid, 0, backend_rows(proxy, bindex, pindex,
                                 backends_base), http, backend_index=bindex)  # fmt: skip
            for position, server in enumerate(proxy.servers, 1):
                sindex = server_index[id(server)]
                obj = StatObject("S", ("S", proxy.name, server.name), proxy, iid, server.id, (servers_base + sindex,),
                                 http, server=server, server_index=sindex, backend_index=bindex,
                                 position=position)  # fmt: skip
                backend.servers.append(obj)
                objects.append(obj)
            objects.append(backend)
    return objects


def backend_rows(proxy: Proxy, bindex: int, pindex: int, backends_base: int) -> tuple[int, ...]:
    """A backend's own row, plus its proxy row when it is not also a frontend: an
    engine predating backend rows counts a backend there (lb.shm.layout)."""
    own = backends_base + bindex
    return (own,) if proxy.is_frontend else (own, pindex)


def by_key(objects: list[StatObject]) -> dict[tuple, StatObject]:
    return {obj.key: obj for obj in objects}


def global_maxconn(config: Config) -> int:
    return config.global_.maxconn or default_maxconn()
