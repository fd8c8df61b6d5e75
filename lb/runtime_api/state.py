"""What runtime API commands act on: the master's generations and its shm fields (master).

`RuntimeState` is the commands' only way into the master.  Reads use the
active generation (the one taking new traffic).  Writes go to every live
generation that has the object under the same name: a generation still
booting after a reload was seeded before the command and must not miss it,
and one still draining must obey a `maint` as well.  Every field written
here is one the master owns (lb.shm.layout); changes that alter a
balancer's server set bump versions[ADMIN_VERSION].
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from lb.config.model import Config, Proxy, Server
from lb.runtime_api.commands import CliError
from lb.shm import layout
from lb.shm.table import ShmTable
from lb.stats import info as stats_info
from lb.stats.model import Facts, StatRow, stat_rows
from lb.stats.objects import global_maxconn

if TYPE_CHECKING:
    from lb.generation import Generation


@dataclass
class ServerRef:
    backend: Proxy
    server: Server
    index: int  # in the active generation's Config.all_servers()


class RuntimeState:
    def __init__(self, master: Any, on_change: Callable[[str, dict], None] | None = None) -> None:
        self.master = master  # lb.master.Master (duck-typed: generations, pid, started, stopping...)
        self.on_change = on_change or (lambda event, fields: None)

    # -- generations ---------------------------------------------------------------

    def current(self) -> "Generation":
        active = self.master.active_generation()
        return active if active is not None else self.master.generations[-1]

    @property
    def config(self) -> Config:
        return self.current().config

    @property
    def shm(self) -> ShmTable:
        return self.current().shm

    def live(self) -> list["Generation"]:
        return list(self.master.generations)

    # -- lookups (HAProxy's messages) -------------------------------------------------

    def find_server(self, arg: str, allow_empty_backend: bool = False) -> ServerRef:
        """`<backend>/<server>` (or `<backend>/#<id>`), as HAProxy's cli_find_server."""
        backend_name, slash, server_name = arg.partition("/")
        if not slash or not server_name or (not backend_name and not allow_empty_backend):
            raise CliError("Require 'backend/server'.\n")
        backend = self.config.backends.get(backend_name)
        if backend is None:
            raise CliError("No such backend.\n")
        for index, (owner, server) in enumerate(self.config.all_servers()):
            if owner is backend and server_matches(server, server_name):
                if backend.disabled:
                    raise CliError("Proxy is disabled.\n")
                return ServerRef(backend, server, index)
        raise CliError("No such server.\n")

    def find_frontend(self, name: str) -> tuple[Proxy, int]:
        if not name:
            raise CliError("A frontend name is expected.\n")
        for index, proxy in enumerate(self.config.proxies()):
            if proxy.is_frontend and proxy.name == name:
                return proxy, index
        raise CliError("No such frontend.\n")

    def find_backend(self, name: str) -> Proxy | None:
        return self.config.backends.get(name)

    # -- writes to every live generation ----------------------------------------------

    def server_cells(self, ref: ServerRef) -> list[tuple[ShmTable, int]]:
        """(shm, server index) of the server in every live generation that has it."""
        out = []
        for generation in self.live():
            for index, (backend, server) in enumerate(generation.config.all_servers()):
                if backend.name == ref.backend.name and server.name == ref.server.name:
                    out.append((generation.shm, index))
        return out

    def frontend_cells(self, name: str) -> list[tuple[ShmTable, int]]:
        out = []
        for generation in self.live():
            for index, proxy in enumerate(generation.config.proxies()):
                if proxy.is_frontend and proxy.name == name:
                    out.append((generation.shm, index))
        return out

    def write_server(self, ref: ServerRef, array: str, value: int, bump: bool = True) -> None:
        for shm, index in self.server_cells(ref):
            getattr(shm, array)[index] = value
            if bump:
                shm.versions[layout.ADMIN_VERSION] += 1

    def update_server(self, ref: ServerRef, array: str, change: Callable[[int], int]) -> None:
        for shm, index in self.server_cells(ref):
            view = getattr(shm, array)
            view[index] = change(view[index])

    def health_request(self, ref: ServerRef, operation: int) -> None:
        """Ask each generation's checker to force health (it applies it within a tick)."""
        for shm, index in self.server_cells(ref):
            sequence = (shm.srv_health_req[index] >> 2) + 1
            shm.srv_health_req[index] = ((sequence & 0x3FFFFFFF) << 2) | operation

    def write_frontend(self, name: str, array: str, value: int) -> None:
        for shm, index in self.frontend_cells(name):
            getattr(shm, array)[index] = value

    def write_control(self, cell: int, value: int) -> None:
        for generation in self.live():
            generation.shm.control[cell] = value

    def clear_counters(self, everything: bool) -> None:
        """HAProxy's `clear counters [all]`, on every live generation, oldest first."""
        for generation in self.live():
            shm = generation.shm
            epoch = shm.control[layout.CTRL_CLEAR_EPOCH] + 1
            shm.control[layout.CTRL_CLEAR_EPOCH] = epoch  # first: readers now skip unacknowledged cells
            if everything:
                shm.control[layout.CTRL_CLEAR_ALL] = epoch
            generation.sampler.clear_maxima()
            generation.chain.clear(everything)

    # -- statistics ---------------------------------------------------------------------

    def global_maxconn(self) -> int:
        return self.shm.control[layout.CTRL_MAXCONN] or global_maxconn(self.config)

    def stat_rows(self, legends: bool) -> list[StatRow]:
        return stat_rows(self.config, self.shm, Facts(time.time(), self.global_maxconn(), legends))

    def info(self) -> dict:
        master, generation = self.master, self.current()
        facts = stats_info.ProcessFacts(
            pid=master.pid, started=master.started, now=time.time(), nworkers=generation.nworkers,
            stopping=master.stopping, listeners=master.listener_count(), ulimit_n=master.ulimit_n(),
            maxconn=self.global_maxconn(), hard_maxconn=global_maxconn(self.config),
        )  # fmt: skip
        return stats_info.info_fields(self.config, self.shm, facts)


def server_matches(server: Server, name: str) -> bool:
    if name.startswith("#"):
        digits = name[1:]
        return digits.isdigit() and server.id == int(digits)
    return server.name == name

