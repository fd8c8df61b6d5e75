"""Runtime API: session commands and the `show` family (master).

Texts are HAProxy 2.6's (src/cli.c, src/stats.c, src/proxy.c).  What lb
does not have is said so instead of being made up: `show activity` and
`show pools` describe HAProxy's threads and memory pools; `show errors`
lists no capture because lb keeps no error snapshots.
"""

from __future__ import annotations

import os
import time

from lb import __version__
from lb.checker.status import CONDPASS, FAILED, PASSED, status_of
from lb.config.types import parse_time
from lb.runtime_api.commands import LEVEL_OPERATOR, LEVEL_USER, CliError, Request, command, usage_message
from lb.shm import layout
from lb.stats.render import StatFilter, render_info, render_stat

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# lb's check statuses as HAProxy's HCHK_STATUS_* numbers (show servers state)
HCHK_NUMBER = {"UNK": 0, "INI": 1, "SOCKERR": 5, "L4OK": 6, "L4TOUT": 7, "L4CON": 8, "L6OK": 9, "L6TOUT": 10,
               "L6RSP": 11, "L7TOUT": 12, "L7RSP": 13, "L7OK": 15, "L7OKC": 16, "L7STS": 17}  # fmt: skip
CHECK_RESULT = {FAILED: 2, PASSED: 3, CONDPASS: 4}
SERVERS_STATE_FIELDS = (
    "be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
    "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
    "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port "
    "srv_check_addr srv_agent_addr srv_agent_port"
)


# -- the session ----------------------------------------------------------------------------


@command("help")
def cmd_help(req: Request) -> str:
    return usage_message(req.args)


@command("prompt")
def cmd_prompt(req: Request) -> None:
    req.session.toggle_prompt()


@command("quit")
def cmd_quit(req: Request) -> None:
    req.session.quit()


@command("operator",
         usage="operator                                : "
               "lower the level of the current CLI session to operator")
@command("user", usage="user                                    : lower the level of the current CLI session to user")
def cmd_set_level(req: Request) -> None:
    if req.arg(1) == "-":
        req.session.no_lf = True
    wanted = LEVEL_OPERATOR if req.args[0] == "operator" else LEVEL_USER
    req.need(wanted)
    req.session.level = wanted


@command("show", "cli", "level",
         usage="show cli level                          : "
               "display the level of the current CLI session")
def cmd_show_level(req: Request) -> str:
    return {1: "user\n", 2: "operator\n", 3: "admin\n"}.get(req.session.level, "unknown\n")


@command("set", "timeout", usage="set timeout [cli] <delay>               : change a timeout setting")
def cmd_set_timeout(req: Request) -> None:
    if req.arg(2) != "cli":
        raise CliError("'set timeout' only supports 'cli'.\n")
    if not req.arg(3):
        raise CliError("Expects an integer value.\n")
    try:
        seconds_ms = parse_time(req.arg(3), "s")
    except ValueError:
        raise CliError("Invalid timeout value.\n") from None
    if seconds_ms < 1000:
        raise CliError("Invalid timeout value.\n")
    req.session.timeout_ms = seconds_ms


@command("show", "version", usage="show version                            : show version of the current process")
def cmd_show_version(req: Request) -> str:
    return f"{__version__}\n"


# -- statistics -----------------------------------------------------------------------------


@command("show", "info", usage="show info [desc|json|typed|float]*      : report information about the running process")
def cmd_show_info(req: Request) -> str:
    fmt, desc = "text", False
    for word in req.args[2:]:
        if word in ("typed", "json"):
            fmt = word
        elif word == "desc":
            desc = True
    return render_info(req.state.info(), fmt, desc)


@command("show", "stat", usage="show stat [desc|json|no-maint|typed|up]*: report counters for each proxy and server")
def cmd_show_stat(req: Request) -> str:
    flt, rest = StatFilter(), req.args[2:]
    if rest[:1] == ["domain"]:
        if rest[1:2] == ["proxy"]:
            rest = rest[2:]
        else:
            raise CliError("Invalid statistics domain.\n")
    if len(rest) >= 3 and all(rest[:3]):
        flt.iid = proxy_id(req, rest[0])
        if not flt.iid:
            raise CliError("No such proxy.\n")
        flt.bound, flt.types, flt.sid = True, atoi(rest[1]), atoi(rest[2])
        rest = rest[3:]
    for word in rest:
        if word in ("typed", "json"):
            flt.fmt = word
        elif word == "desc":
            flt.desc = True
        elif word == "no-maint":
            flt.hide_maint = True
        elif word == "up":
            flt.hide_down = True
    legends = req.session.socket_level >= LEVEL_OPERATOR  # HAProxy's STAT_SHLGNDS
    return render_stat(req.state.stat_rows(legends), flt)


def proxy_id(req: Request, word: str) -> int:
    """A proxy name's iid, else the number itself (HAProxy's atoi: 0 when not a number)."""
    for row in req.state.stat_rows(False):
        if row.obj.proxy.name == word:
            return row.obj.iid
    return atoi(word)


def atoi(text: str) -> int:
    """C's atoi: an optional sign and the leading digits, 0 when there are none."""
    text = text.lstrip(" \t")
    sign, digits = (-1, text[1:]) if text[:1] == "-" else (1, text[1:] if text[:1] == "+" else text)
    count = 0
    while count < len(digits) and digits[count].isdigit():
        count += 1
    return sign * int(digits[:count]) if count else 0


# -- servers and backends -----------------------------------------------------------------------


@command("show", "servers", "conn",
         usage="show servers conn [<backend>]           : dump server connections status (all or for a single backend)")
@command("show", "servers", "state",
         usage="show servers state [<backend>]          : "
               "dump volatile server information (all or for a single backend)")
def cmd_show_servers(req: Request) -> str:
    state, only = req.state, req.arg(3)
    if only and state.find_backend(only) is None:
        raise CliError("Can't find backend.\n")
    conn = req.args[2] == "conn"
    rows = [row for row in state.stat_rows(True) if row.obj.kind == "S" and (not only or row.obj.proxy.name == only)]
    shm, now = state.shm, int(time.time())
    if conn:
        out = [f"# bkname/svname bkid/svid addr port - purge_delay used_cur used_max need_est unsafe_nb safe_nb "
               f"idle_lim idle_cur idle_per_thr[{state.current().nworkers}]\n"]  # fmt: skip
        out += [server_conn_line(shm, row.obj, state.current().nworkers) for row in rows]
    else:
        out = [f"1\n# {SERVERS_STATE_FIELDS}\n"] + [server_state_line(shm, row.obj, now) for row in rows]
    return "".join(out)


def server_state_line(shm, obj, now: int) -> str:
    i, server = obj.server_index, obj.server
    admin, up = shm.srv_admin[i], shm.srv_up[i]
    op_state = 0 if admin == layout.ADMIN_MAINT or not up else (3 if up == layout.SRV_NOLB else 2)
    admin_flags = {layout.ADMIN_MAINT: 0x01 | (0x04 if server.disabled else 0), layout.ADMIN_DRAIN: 0x08}.get(admin, 0)
    status = status_of(shm.srv_status[i])
    if server.check:
        check_status, result, health = HCHK_NUMBER[status.code], CHECK_RESULT.get(status.result, 0), shm.srv_health[i]
        check_state = 0x02 | (0 if shm.srv_check_admin[i] & layout.CHECK_DISABLED else 0x04)
    else:
        check_status, result, health, check_state = 1, 0, 0 if admin == layout.ADMIN_MAINT else server.rise, 0
    if admin == layout.ADMIN_MAINT:
        check_state |= 0x08  # HAProxy pauses the checks of a server in maintenance
    host, port = server.host, server.port
    fqdn = "-" if is_ip(host) else host
    forced_id = 1 if server.id != obj.position else 0
    return (f"{obj.iid} {obj.proxy.name} {server.id} {server.name} {host} {op_state} {admin_flags} "
            f"{shm.srv_weight[i]} {server.weight} {max(0, now - shm.srv_change[i] // 1000)} {check_status} {result} "
            f"{health} {check_state} 0 0 {forced_id} {fqdn} {port} - 0 {server.check_port or 0} "
            f"{server.check_addr or '-'} - 0\n")  # fmt: skip


def server_conn_line(shm, obj, nworkers: int) -> str:
    """Connections of a server; lb does not publish its idle-connection pools ("-")."""
    i, server = obj.server_index, obj.server
    used = sum(shm.column("conns", i))
    used_max = shm.sampled[shm.sampled_index(obj.rows[0], "conn_max")]
    idle = " -" * nworkers
    return (f"{obj.proxy.name}/{server.name} {obj.iid}/{server.id} {server.host} {server.port} - - "
            f"{used} {used_max} - - - - -{idle}\n")  # fmt: skip


def is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@command("show", "backend",
         usage="show backend                            : "
               "list backends in the current running config")
def cmd_show_backend(req: Request) -> str:
    names = [row.obj.proxy.name for row in req.state.stat_rows(False) if row.obj.kind == "B"]
    return "# name\n" + "".join(f"{name}\n" for name in names)


@command("show", "errors",
         usage="show errors [<px>] [request|response]   : "
               "report last request and/or response errors for each proxy")
def cmd_show_errors(req: Request) -> str:
    req.need(LEVEL_OPERATOR)
    if req.arg(2) and not proxy_id(req, req.arg(2)):
        raise CliError("No such proxy.\n")
    now = time.time()
    tm = time.localtime(now)
    stamp = (f"{tm.tm_mday:02d}/{MONTHS[tm.tm_mon - 1]}/{tm.tm_year:04d}:{tm.tm_hour:02d}:{tm.tm_min:02d}:"
             f"{tm.tm_sec:02d}.{int(now * 1000) % 1000:03d}")  # fmt: skip
    return f"Total events captured on [{stamp}] : 0\n"


# -- process ------------------------------------------------------------------------------------


@command("show", "env",
         usage="show env [var]                          : "
               "dump environment variables known to the process")
def cmd_show_env(req: Request) -> str:
    req.need(LEVEL_OPERATOR)
    name = req.arg(2)
    if name:
        if name not in os.environ:
            raise CliError("Variable not found\n")
        return f"{name}={os.environ[name]}\n"
    return "".join(f"{key}={value}\n" for key, value in os.environ.items())


@command("show", "activity",
         usage="show activity                           : "
               "show per-thread activity stats (for support/developers)")
@command("show", "pools",
         usage="show pools                              : "
               "report information about the memory pools usage")
def cmd_not_supported(req: Request) -> str:
    return f"'show {req.args[1]}' is not supported by lb (it describes HAProxy's threads and memory pools).\n"
