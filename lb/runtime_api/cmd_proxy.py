"""Runtime API: frontends, global limits and counters (master).

HAProxy 2.6's texts (src/proxy.c, src/cli.c, src/stats.c).  lb applies
maxconn per worker (README "Deviations"), so `set maxconn global|frontend`
sets each worker's limit, as HAProxy's per-process value.
"""

from __future__ import annotations

from lb.runtime_api.cmd_show import atoi
from lb.runtime_api.commands import LEVEL_ADMIN, LEVEL_OPERATOR, CliError, Request, command
from lb.shm import layout
from lb.stats.objects import global_maxconn


@command("disable", "frontend", usage="disable frontend <frontend>             : temporarily disable specific frontend")
@command("enable", "frontend", usage="enable frontend <frontend>              : re-enable specific frontend")
def cmd_frontend(req: Request) -> str | None:
    req.need(LEVEL_ADMIN)
    proxy, index = req.state.find_frontend(req.arg(2))
    disable = req.args[0] == "disable"
    if bool(req.state.shm.fe_disabled[index]) == disable:
        return "All sockets are already disabled.\n" if disable else "All sockets are already enabled.\n"
    req.state.write_frontend(proxy.name, "fe_disabled", 1 if disable else 0)
    message = f"{'Paused' if disable else 'Resumed'} frontend {proxy.name}."  # HAProxy's words
    req.state.on_change("frontend paused" if disable else "frontend resumed",
                        {"frontend": proxy.name, "message": message})  # fmt: skip
    return None


@command("set", "maxconn", "frontend",
         usage="set maxconn frontend <frontend> <value> : "
               "change a frontend's maxconn setting")
def cmd_maxconn_frontend(req: Request) -> None:
    req.need(LEVEL_ADMIN)
    proxy, _index = req.state.find_frontend(req.arg(3))
    if not req.arg(4):
        raise CliError("Integer value expected.\n")
    value = atoi(req.arg(4))
    if value < 0:
        raise CliError("Value out of range.\n")
    req.state.write_frontend(proxy.name, "fe_maxconn", min(value, 2**32 - 1))


@command("set", "maxconn", "global",
         usage="set maxconn global <value>              : "
               "change the per-process maxconn setting")
def cmd_maxconn_global(req: Request) -> None:
    req.need(LEVEL_ADMIN)
    if not req.arg(3):
        raise CliError("Expects an integer value.\n")
    value, hard = atoi(req.arg(3)), global_maxconn(req.state.config)
    if value > hard:
        raise CliError("Value out of range.\n")
    req.state.write_control(layout.CTRL_MAXCONN, value if value > 0 else 0)  # 0: back to the configured one


@command("clear", "counters",
         usage="clear counters [all]                    : "
               "clear max statistics counters (or all counters)")
def cmd_clear_counters(req: Request) -> None:
    everything = req.arg(2) == "all"
    req.need(LEVEL_OPERATOR)
    if everything:
        req.need(LEVEL_ADMIN)
    req.state.clear_counters(everything)
