"""Keywords of the `global` section (master, cli).

`nbproc` is lb's worker count (HAProxy >= 2.5 rejects it; lb is prefork, so
it is the natural name); `nbthread` is accepted as its alias so that a config
written for a threaded HAProxy runs with the same parallelism.
"""

from __future__ import annotations

from lb.config.registry import KwContext, KwError, global_keyword
from lb.config.types import parse_int, parse_size, parse_time


def _expect(args: list[str], count: int, usage: str) -> None:
    if len(args) - 1 < count:
        raise KwError(f"'{args[0]}' expects {usage}.")


@global_keyword("daemon", doc="run in the background (lbctl start without --foreground does it too)")
def kw_daemon(ctx: KwContext, args: list[str]) -> None:
    ctx.config.global_.daemon = True


@global_keyword("maxconn", doc="process-wide limit of concurrent connections, per worker")
def kw_maxconn(ctx: KwContext, args: list[str]) -> None:
    _expect(args, 1, "an integer argument")
    ctx.config.global_.maxconn = parse_int(args[1], 1, 10_000_000, "maxconn")


@global_keyword("pidfile", doc="file where the master writes its pid")
def kw_pidfile(ctx: KwContext, args: list[str]) -> None:
    _expect(args, 1, "a file name")
    ctx.config.global_.pidfile = args[1]


@global_keyword("user", doc="user to switch to after binding, when started as root")
def kw_user(ctx: KwContext, args: list[str]) -> None:
    _expect(args, 1, "a user name")
    ctx.config.global_.user = args[1]


@global_keyword("group", doc="group to switch to after binding, when started as root")
def kw_group(ctx: KwContext, args: list[str]) -> None:
    _expect(args, 1, "a group name")
    ctx.config.global_.group = args[1]


@global_keyword("chroot", doc="directory to chroot into after binding, when started as root")
def kw_chroot(ctx: KwContext, args: list[str]) -> None:
    _expect(args, 1, "a directory name")
    ctx.config.global_.chroot = args[1]


@global_keyword("nbproc", doc="number of worker processes (default: number of CPUs)")
@global_keyword("nbthread", doc="alias of nbproc: lb runs one single-threaded worker per slot")
def kw_nbproc(ctx: KwContext, args: list[str]) -> None:
    _expect(args, 1, "an integer argument")
    ctx.config.global_.nbproc = parse_int(args[1], 1, 64, args[0])


@global_keyword("hard-stop-after", doc="bound on how long a soft-stopping generation may drain")
def kw_hard_stop_after(ctx: KwContext, args: list[str]) -> None:
    _expect(args, 1, "<time> as argument")
    ctx.config.global_.hard_stop_after = parse_time(args[1])


@global_keyword("heartbeat-timeout", doc="lb extension: kill a worker silent for this long (default 10s)")
def kw_heartbeat_timeout(ctx: KwContext, args: list[str]) -> None:
    _expect(args, 1, "<time> as argument")
    ctx.config.global_.heartbeat_timeout = max(parse_time(args[1]), 1000)


@global_keyword("spread-checks", doc="random jitter added to check intervals, in percent (0-50)")
def kw_spread_checks(ctx: KwContext, args: list[str]) -> None:
    _expect(args, 1, "an integer argument")
    ctx.config.global_.spread_checks = parse_int(args[1], 0, 50, "spread-checks")


# Tuning and process keywords that a HAProxy config commonly carries and that
# have no meaning for lb: accepted so that existing files load, with a warning.
for _name in ("tune.ssl.default-dh-param", "ssl-default-bind-ciphers", "ssl-default-bind-options",
              "ssl-default-server-ciphers", "ssl-default-server-options",
              "ca-base", "crt-base", "master-worker",
              "ssl-default-bind-ciphersuites", "ssl-dh-param-file", "node", "description",
              "tune.ssl.cachesize", "server-state-file", "server-state-base", "cpu-map",
              "maxconnrate", "maxsessrate", "quiet", "expose-experimental-directives"):  # fmt: skip
    global_keyword(_name, applied=False, doc="accepted for compatibility; no effect in lb")(lambda ctx, args: None)


@global_keyword("ulimit-n", doc="descriptor limit of each process (default: what maxconn needs)")
def kw_ulimit_n(ctx: KwContext, args: list[str]) -> None:
    _expect(args, 1, "an integer argument")
    ctx.config.global_.ulimit_n = parse_int(args[1], 1, 1 << 30, "ulimit-n")


@global_keyword("tune.bufsize", doc="buffer size: a request or response head must fit in bufsize - maxrewrite")
def kw_tune_bufsize(ctx: KwContext, args: list[str]) -> None:
    _expect(args, 1, "an integer argument")
    ctx.config.global_.bufsize = parse_int(args[1], 1024, 1 << 28, "tune.bufsize")


@global_keyword("tune.maxrewrite", doc="space reserved in a buffer for header rewrites (default 1024)")
def kw_tune_maxrewrite(ctx: KwContext, args: list[str]) -> None:
    _expect(args, 1, "an integer argument")
    ctx.config.global_.maxrewrite = parse_int(args[1], 0, 1 << 28, "tune.maxrewrite")


@global_keyword("tune.http.maxhdr", doc="most header fields a request or response may carry (default 101)")
def kw_tune_maxhdr(ctx: KwContext, args: list[str]) -> None:
    _expect(args, 1, "an integer argument")
    ctx.config.global_.maxhdr = parse_int(args[1], 1, 32767, "tune.http.maxhdr")


@global_keyword("zero-warning", doc="treat every warning as fatal (lbctl check exits 1 when any warning is found)")
def kw_zero_warning(ctx: KwContext, args: list[str]) -> None:
    ctx.config.global_.extras["zero_warning"] = True


@global_keyword("nosplice", doc="never use kernel splicing, whatever option splice-* says")
def kw_nosplice(ctx: KwContext, args: list[str]) -> None:
    ctx.config.global_.nosplice = True


@global_keyword("maxpipes", doc="pipes one worker may use for splicing at once (default: its maxconn / 4)")
def kw_maxpipes(ctx: KwContext, args: list[str]) -> None:
    _expect(args, 1, "an integer argument")
    ctx.config.global_.maxpipes = parse_int(args[1], 1, 10_000_000, "maxpipes")


@global_keyword("tune.pipesize", doc="capacity of a splicing pipe (default: the system's, 64k on Linux)")
def kw_tune_pipesize(ctx: KwContext, args: list[str]) -> None:
    _expect(args, 1, "an integer argument")
    try:
        ctx.config.global_.pipesize = parse_size(args[1])
    except ValueError as exc:
        raise KwError(f"'tune.pipesize': {exc}.") from None
