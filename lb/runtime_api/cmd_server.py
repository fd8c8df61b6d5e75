"""Runtime API: commands that change a server (master).

HAProxy 2.6's texts and checks (src/server.c cli_parse_set_server and
friends).  The master writes the fields it owns (admin state, weight,
maxconn, check admin bits, shutdown requests); health changes are requests
the checker applies (lb.checker.requests).  lb has no agent checks, so
`agent` commands answer as HAProxy does for a server without one.
"""

from __future__ import annotations

from lb.runtime_api.commands import LEVEL_ADMIN, CliError, Request, command
from lb.runtime_api.state import ServerRef
from lb.shm import layout

DYNAMIC_ALGORITHMS = ("roundrobin", "leastconn", "first")  # the others take only 0% and 100%
NOT_SUPPORTED = ("addr", "agent-addr", "agent-port", "agent-send", "check-addr", "check-port", "fqdn", "ssl")
SET_SERVER_USAGE = ("usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | "
                    "check-addr | check-port | fqdn | health | ssl | state | weight\n")  # fmt: skip


def admin_server(req: Request, position: int) -> ServerRef:
    req.need(LEVEL_ADMIN)
    return req.state.find_server(req.arg(position))


def set_admin(req: Request, ref: ServerRef, admin: int) -> None:
    before = req.state.shm.srv_admin[ref.index]
    req.state.write_server(ref, "srv_admin", admin)
    if before != admin:
        req.state.on_change("server admin", {"backend": ref.backend.name, "server": ref.server.name,
                                             "admin": ADMIN_NAMES[admin], "before": ADMIN_NAMES[before]})  # fmt: skip


ADMIN_NAMES = {layout.ADMIN_READY: "ready", layout.ADMIN_DRAIN: "drain", layout.ADMIN_MAINT: "maint"}


@command("disable", "server",
         usage="disable server (DEPRECATED)             : "
               "disable a server for maintenance (use 'set server' instead)")
def cmd_disable_server(req: Request) -> None:
    set_admin(req, admin_server(req, 2), layout.ADMIN_MAINT)


@command("enable", "server",
         usage="enable server  (DEPRECATED)             : "
               "enable a disabled server (use 'set server' instead)")
def cmd_enable_server(req: Request) -> None:
    set_admin(req, admin_server(req, 2), layout.ADMIN_READY)


@command("set", "server",
         usage="set server <bk>/<srv> [opts]            : "
               "change a server's state, weight, address or ssl")
def cmd_set_server(req: Request) -> str | None:
    ref = admin_server(req, 2)
    what, value = req.arg(3), req.arg(4)
    if what == "weight":
        return change_weight(req, ref, value)
    if what == "state":
        admin = {"ready": layout.ADMIN_READY, "drain": layout.ADMIN_DRAIN, "maint": layout.ADMIN_MAINT}.get(value)
        if admin is None:
            raise CliError("'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n")
        set_admin(req, ref, admin)
        return None
    if what == "health":
        operation = {"up": layout.HEALTH_UP, "stopping": layout.HEALTH_STOPPING, "down": layout.HEALTH_DOWN}.get(value)
        if operation is None:
            raise CliError("'set server <srv> health' expects 'up', 'stopping', or 'down'.\n")
        req.state.health_request(ref, operation)
        return None
    if what == "agent":
        raise CliError("agent checks are not enabled on this server.\n")
    if what in NOT_SUPPORTED:
        raise CliError(f"'set server <srv> {what}' is not supported by lb: change the configuration and reload.\n")
    raise CliError(SET_SERVER_USAGE)


def change_weight(req: Request, ref: ServerRef, text: str) -> str | None:
    """HAProxy's server_parse_weight_change_request; its messages, with or without a newline."""
    if not text:
        return "Require <weight> or <weight%>.\n"
    value, end = strtol(text)
    if end == 0:
        return "Empty weight string empty or preceded by garbage"
    rest = text[end:]
    initial = ref.server.weight
    if rest == "%":
        if value < 0:
            return "Relative weight must be positive.\n"
        value = min(256, initial * min(value, 25600) // 100)
    elif value < 0 or value > 256:
        return "Absolute weight can only be between 0 and 256 inclusive.\n"
    elif rest:
        return "Trailing garbage in weight string"
    if value and value != initial and ref.backend.balance.algorithm not in DYNAMIC_ALGORITHMS:
        return "Backend is using a static LB algorithm and only accepts weights '0%' and '100%'.\n"
    before = req.state.shm.srv_weight[ref.index]
    req.state.write_server(ref, "srv_weight", value)
    if before != value:
        req.state.on_change("server weight", {"backend": ref.backend.name, "server": ref.server.name,
                                              "weight": value, "before": before})  # fmt: skip
    return None


def strtol(text: str) -> tuple[int, int]:
    """C's strtol in base 10: (value, characters used); 0 used when no digit."""
    i = 0
    while i < len(text) and text[i] in " \t\n\r\f\v":
        i += 1
    start = i
    if i < len(text) and text[i] in "+-":
        i += 1
    digits = i
    while i < len(text) and text[i].isdigit():
        i += 1
    if i == digits:
        return 0, 0
    return int(text[start:i]), i


@command("get", "weight", usage="get weight <bk>/<srv>                   : report a server's current weight")
def cmd_get_weight(req: Request) -> str:
    ref = req.state.find_server(req.arg(2), allow_empty_backend=True)
    return f"{req.state.shm.srv_weight[ref.index]} (initial {ref.server.weight})\n"


@command("set", "weight",
         usage="set weight <bk>/<srv>  (DEPRECATED)     : "
               "change a server's weight (use 'set server' instead)")
def cmd_set_weight(req: Request) -> str | None:
    ref = admin_server(req, 2)
    return change_weight(req, ref, req.arg(3))


@command("set", "maxconn", "server",
         usage="set maxconn server <bk>/<srv>           : "
               "change a server's maxconn setting")
def cmd_set_maxconn_server(req: Request) -> str | None:
    ref = admin_server(req, 3)
    text = req.arg(4)
    if not text:
        return "Require <maxconn>.\n"
    value, end = strtol(text)
    if end == 0:
        return "maxconn string empty or preceded by garbage"
    if text[end:]:
        return "Trailing garbage in maxconn string"
    req.state.write_server(ref, "srv_maxconn", max(0, min(value, 2**32 - 1)))
    return None


@command("disable", "health", usage="disable health                          : disable health checks")
@command("enable", "health", usage="enable health                           : enable health checks")
def cmd_health(req: Request) -> None:
    ref = admin_server(req, 2)
    enable = req.args[0] == "enable"
    if enable and not ref.server.check:
        raise CliError("Health check was not configured on this server, cannot enable.\n")
    bit = layout.CHECK_DISABLED
    req.state.update_server(ref, "srv_check_admin", (lambda v: v & ~bit) if enable else (lambda v: v | bit))


@command("disable", "agent", usage="disable agent                           : disable agent checks")
@command("enable", "agent", usage="enable agent                            : enable agent checks")
def cmd_agent(req: Request) -> None:
    admin_server(req, 2)
    if req.args[0] == "enable":
        raise CliError("Agent was not configured on this server, cannot enable.\n")


@command("shutdown", "sessions", "server", usage="shutdown sessions server <bk>/<srv>     : kill sessions on a server")
def cmd_shutdown_sessions(req: Request) -> None:
    ref = admin_server(req, 3)
    req.state.update_server(ref, "srv_shutdown", lambda v: (v + 1) & 0xFFFFFFFF)
