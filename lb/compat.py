"""HAProxy keywords lb accepts without acting on them, each with a notice (master, cli).

HAProxy's own configurations (its regression tests, tuned production files)
carry tuning lines for internals lb does not have: memory pools, pollers,
thread groups, Lua, QUIC.  Refusing them would refuse the
whole file for lines that cannot change what lb does, so they are accepted
and each use is reported as a NOTICE, which neither fails `-c` nor counts as
a warning for `zero-warning`.  A keyword whose absence would change
behaviour (`grace`, `pp2-never-send-local`, ...) is not in these lists: it
stays unknown, an alert, until lb implements it.  Imported after every
module that registers keywords: a name one of them implements (tune.h2.*
in lb/h2settings.py, maxcomprate in lb/compression) is theirs.
"""

from __future__ import annotations

from lb.config.model import Diagnostic
from lb.config.registry import REGISTRY, KwContext, KwError, global_keyword

# HAProxy 2.6's tune.* keywords (doc/configuration.txt 3.2) that lb has no use for;
# those lb applies (tune.bufsize, tune.maxrewrite, tune.http.maxhdr ...) are registered elsewhere.
IGNORED_TUNING = (
    "tune.buffers.limit", "tune.buffers.reserve", "tune.chksize", "tune.fail-alloc",
    "tune.fd.edge-triggered", "tune.h2.header-table-size", "tune.h2.initial-window-size",
    "tune.h2.max-concurrent-streams", "tune.h2.max-frame-size", "tune.http.cookielen", "tune.http.logurilen",
    "tune.idle-pool.shared", "tune.idletimer", "tune.listener.multi-queue", "tune.lua.forced-yield",
    "tune.lua.maxmem", "tune.lua.service-timeout", "tune.lua.session-timeout", "tune.lua.task-timeout",
    "tune.maxaccept", "tune.maxpollevents", "tune.pattern.cache-size", "tune.peers.max-updates-at-once",
    "tune.pool-high-fd-ratio", "tune.pool-low-fd-ratio",
    "tune.quic.frontend.conn-tx-buffers.limit", "tune.quic.frontend.max-idle-timeout",
    "tune.quic.frontend.max-streams-bidi", "tune.quic.retry-threshold", "tune.rcvbuf.client", "tune.rcvbuf.server",
    "tune.recv_enough", "tune.runqueue-depth", "tune.sched.low-latency", "tune.sndbuf.client", "tune.sndbuf.server",
    "tune.ssl.capture-buffer-size", "tune.ssl.capture-cipherlist-size", "tune.ssl.force-private-cache",
    "tune.ssl.hard-maxrecord", "tune.ssl.keylog", "tune.ssl.lifetime", "tune.ssl.maxrecord",
    "tune.ssl.ssl-ctx-cache-size", "tune.vars.check-max-size", "tune.vars.global-max-size",
    "tune.vars.proc-max-size", "tune.vars.reqres-max-size", "tune.vars.sess-max-size", "tune.vars.txn-max-size",
)  # fmt: skip
# Their on/off ones: HAProxy refuses any other word.
ON_OFF = ("tune.idle-pool.shared", "tune.sched.low-latency", "tune.fd.edge-triggered", "tune.listener.multi-queue",
          "tune.ssl.keylog", "tune.ssl.force-private-cache")  # fmt: skip
# Process keywords about pollers, threads, memory and privileges lb manages its own way.
IGNORED_PROCESS = {  # name -> number of arguments
    "busy-polling": 0, "insecure-fork-wanted": 0, "insecure-setuid-wanted": 0, "set-dumpable": 0,
    "strict-limits": 0, "no-memory-trimming": 0, "numa-cpu-mapping": 0, "noepoll": 0, "nopoll": 0,
    "nokqueue": 0, "noevports": 0, "nogetaddrinfo": 0, "noreuseport": 0, "thread-groups": 1,
    "maxsslconn": 1, "maxsslrate": 1,
    "max-spread-checks": 1, "profiling.memory": 1, "profiling.tasks": 1, "ssl-server-verify": 1,
    "ssl-load-extra-del-ext": 0, "ssl-load-extra-files": 1, "ssl-engine": 1, "ssl-mode-async": 0,
}  # fmt: skip


def notice(ctx: KwContext, name: str) -> None:
    ctx.config.diagnostics.append(Diagnostic(
        "NOTICE", f"'{name}' has no effect in lb; accepted for compatibility.", ctx.loc))  # fmt: skip


def _ignored(name: str, nargs: int, on_off: bool = False) -> None:
    def handler(ctx: KwContext, args: list[str]) -> None:
        if on_off and (len(args) < 2 or args[1] not in ("on", "off")):
            got = args[1] if len(args) > 1 else ""
            raise KwError(f"'{name}' expects either 'on' or 'off' but got '{got}'.")
        if len(args) - 1 < nargs:
            raise KwError(f"'{name}' expects an argument.")
        notice(ctx, name)

    if ("global", name) not in REGISTRY.keywords:
        global_keyword(name, doc="accepted for compatibility with a notice; no effect in lb")(handler)


for _name in IGNORED_TUNING:
    _ignored(_name, 1, _name in ON_OFF)
for _name, _nargs in IGNORED_PROCESS.items():
    _ignored(_name, _nargs)


__all__ = ["IGNORED_TUNING", "IGNORED_PROCESS", "notice"]
