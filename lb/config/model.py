"""The configuration model: plain dataclasses, standard library only (all processes).

This is the Python counterpart of HAProxy's `-t.h` headers: types apart from
behaviour.  The parser (master, cli) fills these objects; workers and the
checker only read them after fork.  Nothing here imports the project, so any
module may import it without a cycle.

Units: every duration is an int in milliseconds, `None` meaning "not set"
(for timeouts: infinite, as HAProxy).  Sizes are ints in bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

SECTION_GLOBAL = "global"
SECTION_DEFAULTS = "defaults"
SECTION_FRONTEND = "frontend"
SECTION_BACKEND = "backend"
SECTION_LISTEN = "listen"
PROXY_SECTIONS = (SECTION_DEFAULTS, SECTION_FRONTEND, SECTION_BACKEND, SECTION_LISTEN)

MODE_TCP = "tcp"
MODE_HTTP = "http"

# Which side of a proxy a section provides (HAProxy's PR_CAP_FE / PR_CAP_BE).
CAP_FRONTEND = 1
CAP_BACKEND = 2
SECTION_CAPS = {
    SECTION_DEFAULTS: CAP_FRONTEND | CAP_BACKEND,
    SECTION_FRONTEND: CAP_FRONTEND,
    SECTION_BACKEND: CAP_BACKEND,
    SECTION_LISTEN: CAP_FRONTEND | CAP_BACKEND,
}


def cap_str(section: str) -> str:
    """How HAProxy names a section's proxy in messages (proxy_cap_str()): a listen section is a 'proxy'."""
    return "proxy" if section == SECTION_LISTEN else section


@dataclass(frozen=True)
class Location:
    """Where a directive was written: used by every diagnostic."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


# How a Diagnostic shows its location (HAProxy uses all four shapes):
LOC_PARSING = "parsing"  # "parsing [file:line] : msg"   (keyword handlers)
LOC_PARSING_TIGHT = "parsing-tight"  # "parsing [file:line]: msg"   (line splitting, .if, .alert ...)
LOC_BARE = "bare"  # "[file:line] : msg"           (server lines: HAProxy's parsing context)
LOC_HIDDEN = "hidden"  # "msg"; loc only says which file the problem belongs to


@dataclass
class Diagnostic:
    """One problem found in a configuration (HAProxy's ALERT/WARNING/NOTICE/DIAG)."""

    severity: str  # "ALERT" | "WARNING" | "NOTICE" | "DIAG"
    message: str
    loc: Location | None = None
    form: str = LOC_PARSING  # one of LOC_*: how lb.config.diagnostics prints `loc`


@dataclass
class LogTarget:
    """One `log` line: where traffic and events go (see lb/logs)."""

    address: str  # "ip:port", "/dev/log", "stdout", "stderr", "udp@..." ...
    facility: str = "local0"
    level: str = "debug"  # max level sent ("info" lines pass when level >= info)
    minlevel: str = "emerg"
    format: str = "rfc3164"
    length: int = 1024
    loc: Location | None = None


@dataclass
class StatsSocket:
    """One `stats socket` line: where the master serves HAProxy's runtime API."""

    path: str  # the address as written (`/run/lb.sock`, `ipv4@127.0.0.1:9999`)
    mode: int | None = None  # file mode of a UNIX socket (None: from the umask)
    level: str = "operator"
    expose_fd: bool = False
    loc: Location | None = None
    family: str = "unix"  # "unix" | "ipv4" | "ipv6" | "fd" (`fd@N`: inherited)
    host: str = ""  # inet sockets
    port: int = 0  # inet sockets; the descriptor of an `fd@N` one
    uid: int | None = None  # owner of a UNIX socket file (`user`/`uid`)
    gid: int | None = None  # group of a UNIX socket file (`group`/`gid`)
    name: str | None = None

    @property
    def file(self) -> str | None:
        """The filesystem path of a UNIX socket, None for an inet one."""
        if self.family != "unix":
            return None
        return self.path[5:] if self.path.startswith("unix@") else self.path

    @property
    def key(self) -> tuple:
        """Identity of the listening socket across reloads (kept open while it stays)."""
        return (self.family, self.file, self.host, self.port)


@dataclass
class Global:
    daemon: bool = False
    maxconn: int = 0  # 0: derived from RLIMIT_NOFILE at start
    pidfile: str | None = None
    user: str | None = None
    group: str | None = None
    chroot: str | None = None
    logs: list[LogTarget] = field(default_factory=list)
    log_tag: str = "lb"
    stats_sockets: list[StatsSocket] = field(default_factory=list)
    stats_timeout: int = 10_000  # `stats timeout`: idle runtime API clients are closed after this (ms)
    stats_maxconn: int = 10  # `stats maxconn`: concurrent runtime API clients per socket
    nbproc: int = 0  # 0: os.cpu_count()
    hard_stop_after: int | None = None
    heartbeat_timeout: int = 10_000  # lb extension: a silent worker is killed after this
    spread_checks: int = 0  # percent of jitter on check intervals
    ulimit_n: int = 0  # 0: derived from maxconn (HAProxy's automatic ulimit-n)
    bufsize: int = 16384  # tune.bufsize: a message head must fit in bufsize - maxrewrite
    maxrewrite: int = 1024  # tune.maxrewrite
    maxhdr: int = 101  # tune.http.maxhdr: header fields of a message, end of headers included
    nosplice: bool = False  # `nosplice`: never splice, whatever the proxies' splice options say
    maxpipes: int = 0  # pipes a worker may use for splicing; 0: its maxconn / 4 (HAProxy's default)
    pipesize: int = 0  # tune.pipesize: pipe capacity in bytes; 0: the system's default
    h2_max_streams: int = 100  # tune.h2.max-concurrent-streams (0: no limit)
    h2_window: int = 65535  # tune.h2.initial-window-size
    h2_header_table: int = 4096  # tune.h2.header-table-size
    h2_max_frame: int = 0  # tune.h2.max-frame-size (0: the larger of 16384 and tune.bufsize)
    extras: dict[str, Any] = field(default_factory=dict)
    loc: Location | None = None


@dataclass
class Bind:
    """One listening address of a `bind` line (a comma list gives several)."""

    host: str  # "" means any address (IPv4 0.0.0.0); "::" is explicit IPv6 any
    port: int
    family: int  # socket.AF_INET / AF_INET6 (as int to keep this module socket-free)
    loc: Location | None = None
    # bind options by keyword: "accept_proxy", "name", "ssl", "crt", "alpn"...
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def accept_proxy(self) -> bool:
        return bool(self.options.get("accept_proxy"))

    @property
    def key(self) -> tuple[int, str, int]:
        """Identity of the listening socket across reloads."""
        return (self.family, self.host, self.port)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else (self.host or "*")
        return f"{host}:{self.port}"


def listener_ids(binds: list[Bind]) -> list[int]:
    """HAProxy's listener ids of a proxy's binds (fetch so_id, stats `sid`): the
    `id` a bind sets, else the lowest id not taken yet, in declaration order."""
    taken = {b.options["id"] for b in binds if "id" in b.options}
    ids, next_free = [], 1
    for bind in binds:
        if "id" in bind.options:
            ids.append(bind.options["id"])
            continue
        while next_free in taken:
            next_free += 1
        ids.append(next_free)
        taken.add(next_free)
    return ids


@dataclass
class Server:
    """A `server` line, with `default-server` values already applied."""

    name: str = ""
    host: str = ""
    port: int = 0
    family: int = 2
    id: int = 0  # position in the backend, from 1 (balance first uses it)
    weight: int = 1
    backup: bool = False
    maxconn: int = 0
    maxqueue: int = 0
    disabled: bool = False
    check: bool = False
    inter: int = 2000
    fastinter: int | None = None
    downinter: int | None = None
    rise: int = 2
    fall: int = 3
    init_state: str | None = None  # None | up | down | fully-up | fully-down
    check_port: int | None = None
    check_addr: str | None = None
    check_send_proxy: bool = False
    cookie: str | None = None
    send_proxy: int = 0  # 0 none, 1 v1 text, 2 v2 binary
    proto: str = ""  # `proto h2`: HTTP/2 to this server (workers/http/h2server.py); "" or h1: HTTP/1.1
    extras: dict[str, Any] = field(default_factory=dict)
    loc: Location | None = None

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


@dataclass
class Condition:
    """An `if`/`unless` condition, kept as words until lb.rules compiles it."""

    polarity: str  # "if" | "unless"
    words: list[str]
    loc: Location | None = None
    compiled: Any = None  # filled by the ACL compiler (lb.rules.acl)


@dataclass
class UseBackend:
    backend: str
    cond: Condition | None = None
    loc: Location | None = None


@dataclass
class Balance:
    algorithm: str = "roundrobin"
    args: list[str] = field(default_factory=list)
    loc: Location | None = None


@dataclass
class Timeouts:
    connect: int | None = None
    client: int | None = None
    server: int | None = None
    tunnel: int | None = None
    queue: int | None = None
    check: int | None = None
    http_request: int | None = None
    http_keep_alive: int | None = None
    client_fin: int | None = None
    server_fin: int | None = None
    tarpit: int | None = None  # how long `http-request tarpit` holds a request (None: timeout connect)


@dataclass
class LogSettings:
    """Per-proxy logging: targets and the format (compiled by lb.logs)."""

    targets: list[LogTarget] = field(default_factory=list)
    use_global: bool = False
    format: str | None = None  # explicit log-format string
    style: str | None = None  # "tcplog" | "httplog" | "httplog clf" | "tcplog clf"
    loc: Location | None = None


STATS_DEFAULT_URI = "/haproxy?stats"  # HAProxy's STATS_DEFAULT_URI
STATS_DEFAULT_REALM = "HAProxy Statistics"  # HAProxy's STATS_DEFAULT_REALM


@dataclass
class StatsSettings:
    """The `stats` lines of a proxy section (HAProxy's `struct uri_auth`).

    Any `stats` line enables the page.  A proxy starts with its defaults
    section's settings and drops them all at its own first `stats` line, as
    HAProxy detaches from the defaults' uri_auth.  lb.services.keywords
    fills it; lb.services.statspage serves it (the `service` it builds).
    """

    owner: tuple[str, str, Any]  # (section, name, loc) of the proxy whose lines these are
    uri: str = STATS_DEFAULT_URI
    realm: str | None = None  # `stats realm`; None: STATS_DEFAULT_REALM when asking for credentials
    users: list[tuple[str, str]] = field(default_factory=list)  # `stats auth user:password`, in order
    refresh: int = 0  # seconds; 0: no refresh
    hide_version: bool = False
    show_legends: bool = False
    show_modules: bool = False  # accepted; lb has no extra statistics modules to show
    show_node: bool = False
    node: str | None = None  # None: the host name
    show_desc: bool = False
    desc: str | None = None
    scopes: list[str] = field(default_factory=list)  # `stats scope`: proxy names, "." for this one
    admin_rules: list[Condition] = field(default_factory=list)  # `stats admin if|unless ...`
    http_rules: list[Any] = field(default_factory=list)  # `stats http-request`: lb.services.access rules
    service: Any = None  # the lb.services.statspage.StatsPage built after parsing
    loc: Location | None = None


@dataclass
class Proxy:
    """A defaults, frontend, backend or listen section (HAProxy's `struct proxy`).

    A `listen` section has both capabilities and appears among the frontends
    and among the backends of the Config.
    """

    name: str
    section: str
    loc: Location | None = None
    mode: str = MODE_TCP
    mode_set: bool = False  # written explicitly (or inherited from a defaults that wrote it)
    disabled: bool = False
    # -- frontend side ---------------------------------------------------
    binds: list[Bind] = field(default_factory=list)
    default_backend: str | None = None
    default_backend_loc: Location | None = None
    use_backends: list[UseBackend] = field(default_factory=list)
    maxconn: int = 0
    # -- backend side ----------------------------------------------------
    balance: Balance = field(default_factory=Balance)
    servers: list[Server] = field(default_factory=list)
    default_server: Server = field(default_factory=Server)
    retries: int = 3
    redispatch: int = 0  # 0 off, -1 last retry (the default of `option redispatch`), N every Nth
    # -- both ------------------------------------------------------------
    timeouts: Timeouts = field(default_factory=Timeouts)
    options: dict[str, bool] = field(default_factory=dict)  # on/off options by name
    log: LogSettings = field(default_factory=LogSettings)
    errorfiles: dict[int, bytes] = field(default_factory=dict)
    stats: StatsSettings | None = None  # `stats enable|uri|auth|...`: the stats page this proxy serves
    # Feature areas keep their parsed settings here, keyed by area name
    # ("http", "checks", ...), each value a dataclass of that area's model.
    areas: dict[str, Any] = field(default_factory=dict)

    @property
    def caps(self) -> int:
        return SECTION_CAPS[self.section]

    @property
    def is_frontend(self) -> bool:
        return bool(self.caps & CAP_FRONTEND) and self.section != SECTION_DEFAULTS

    @property
    def is_backend(self) -> bool:
        return bool(self.caps & CAP_BACKEND) and self.section != SECTION_DEFAULTS

    def option(self, name: str) -> bool:
        return self.options.get(name, False)


@dataclass
class Config:
    """A whole parsed configuration: what one generation runs."""

    files: list[str] = field(default_factory=list)
    global_: Global = field(default_factory=Global)
    frontends: dict[str, Proxy] = field(default_factory=dict)
    backends: dict[str, Proxy] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def alerts(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "ALERT"]

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "WARNING"]

    def proxies(self) -> list[Proxy]:
        """Every frontend and backend once (a listen section counts once)."""
        seen: dict[int, Proxy] = {}
        for proxy in (*self.frontends.values(), *self.backends.values()):
            seen.setdefault(id(proxy), proxy)
        return list(seen.values())

    def all_servers(self) -> list[tuple[Proxy, Server]]:
        """(backend, server) pairs in a stable order: the shm server index."""
        return [(be, srv) for be in self.backends.values() for srv in be.servers]
