"""`lb-haproxy`: HAProxy's command line in front of lb, for tools that call `haproxy` (cli; becomes the master).

    lb-haproxy -c -f /etc/haproxy/haproxy.cfg            # Ansible's validate: exit 0 / 1 (2: no listener)
    lb-haproxy -Ws -f /etc/haproxy/ -p /run/haproxy.pid  # systemd Type=notify; SIGUSR2 or SIGHUP reloads
    lb-haproxy -W -db -f haproxy.cfg                     # containers: foreground master, 130 on SIGINT
    lb-haproxy -D -f haproxy.cfg -p pidfile -sf $(cat pidfile)   # old-style reload by a new process

A thin layer: arguments are HAProxy's (lb.haproxy_args), configurations
load through lb.config, and the master is lb's (lb.master) with HAProxy's
signals and exit codes on top (lb.haproxy_master).  Under `-W`, SIGUSR2
reloads like SIGHUP and the master exits 130 after SIGINT, 0 after
SIGTERM or SIGUSR1, as HAProxy 2.6's does; without `-W`, SIGINT and
SIGTERM end the process by that signal, as HAProxy's standalone mode.
Under `-Ws` (systemd), lb's master sends READY=1/RELOADING=1/STOPPING=1
itself (lb.sdnotify), whenever `$NOTIFY_SOCKET` is set.
`-sf`/`-st` take the old processes' listening sockets (lb.takeover), start,
then soft-stop (SIGUSR1) or terminate (SIGTERM) the old pids.
"""

from __future__ import annotations

import os
import resource
import socket
import sys

from typing import TYPE_CHECKING

from lb.config.diagnostics import head
from lb.haproxy_args import Args, Usage, expand_paths, parse, program_name, usage_text, version_string, version_text

if TYPE_CHECKING:  # the rest is imported where used: `-cc`, run by scripts in loops, stays quick
    from lb.config.model import Config
    from lb.listeners import ListenerSet

EXIT_FAILURE = 1


def main(argv: list[str] | None = None) -> None:
    sys.exit(run(sys.argv[1:] if argv is None else argv))


def run(argv: list[str]) -> int:
    try:
        args = parse(argv)
    except Usage as usage:
        return print_usage(usage.alert)
    if args.version:
        sys.stdout.write(version_text(args.version > 1))
        return 0
    if args.chdir:
        try:
            os.chdir(args.chdir)
        except OSError as exc:
            return alert(f"Could not change to directory {args.chdir} : {exc.strerror}")
    if args.condition is not None:
        return check_condition(args.condition)
    try:
        paths = expand_paths(args.files)
    except OSError as exc:
        return alert(f"config : {exc}")
    if not paths:
        return print_usage(None)
    set_environment(args, paths)
    if args.check:
        return check(paths, args)
    return start(paths, args)


# -- messages ----------------------------------------------------------------------------------


def version_notices(pid: int) -> list[str]:
    """The two lines HAProxy prints before its first alert."""
    return [f"{head('NOTICE', pid)}haproxy version is {version_string()}",
            f"{head('NOTICE', pid)}path to executable is {sys.argv[0]}"]  # fmt: skip


def alert(message: str, *, notices: bool = True) -> int:
    pid = os.getpid()
    for line in (version_notices(pid) if notices else []) + [f"{head('ALERT', pid)}{message}"]:
        print(line, file=sys.stderr)
    return EXIT_FAILURE


def print_usage(problem: str | None) -> int:
    """HAProxy's usage(): the version on stdout, the usage on stderr, exit 1."""
    if problem:
        alert(problem)
    sys.stdout.write(version_text(False))
    sys.stdout.flush()
    sys.stderr.write(usage_text(program_name()))
    return EXIT_FAILURE


def warning(message: str) -> None:
    print(f"{head('WARNING', os.getpid())}{message}", file=sys.stderr)


def config_lines(config: Config, args: Args) -> list[str]:
    """Diagnostics as `haproxy -c` prints them, with HAProxy's version notices."""
    from lb.config.diagnostics import diagnostic_lines

    pid = os.getpid()
    lines = diagnostic_lines(config, pid, quiet=args.quiet, diag=args.diag)
    lb_notice = f"{head('NOTICE', pid)}lb version is "
    return [out for line in lines for out in (version_notices(pid) if line.startswith(lb_notice) else [line])]


# -- configuration files ---------------------------------------------------------------

def set_environment(args: Args, paths: list[str]) -> None:
    """The variables HAProxy sets for configurations to use (`${HAPROXY_LOCALPEER}` ...)."""
    os.environ["HAPROXY_LOCALPEER"] = args.local_peer or socket.gethostname()
    os.environ["HAPROXY_CFGFILES"] = ";".join(paths)
    if args.master_worker:
        os.environ["HAPROXY_MWORKER"] = "1"


def load(paths: list[str], args: Args) -> tuple[Config, int]:
    """Load, apply the command line, print the diagnostics; (config, verdict status)."""
    import lb.config
    from lb.config.diagnostics import EXIT_NO_LISTENER, verdict
    from lb.haproxy_master import apply_overrides

    config = lb.config.load(paths)
    apply_overrides(config, args)
    status, out, extra = verdict(config)
    if status == EXIT_NO_LISTENER and config.global_.stats_sockets:
        status, out = 0, [line for line in out if "no listener" not in line] + ["Configuration file is valid"]
    config.diagnostics.extend(extra)
    for line in config_lines(config, args):
        print(line, file=sys.stderr)
    sys.stderr.flush()
    if args.check and not args.quiet and out:
        print("\n".join(out))
    return config, status


def listens(config: Config) -> bool:
    """HAProxy counts its stats sockets as listeners: a file of backends and a CLI starts."""
    from lb.config.validate import has_listener

    return has_listener(config) or bool(config.global_.stats_sockets)


def check(paths: list[str], args: Args) -> int:
    """`-c`: 0 valid, 1 invalid, 2 valid but without any listener (as haproxy -c)."""
    _config, status = load(paths, args)
    return status


def check_condition(text: str) -> int:
    """`-cc <cond>`: exit 0 when true, 1 when false, 2 when it cannot be evaluated."""
    from lb.config.cfgcond import CondError, evaluate
    from lb.config.lexer import LexError, split_words

    if "feature(" in text:
        import lb.config.keywords  # noqa: F401  (the modules declaring features)

    try:
        expression = " ".join(split_words(text))
    except LexError as exc:
        alert(f"Syntax Error in condition: {str(exc).splitlines()[0]}")
        return 2
    try:
        return 0 if evaluate(expression, os.environ) else 1
    except CondError as exc:
        alert(f"config : Failed to evaluate condition: {exc}")
        return 2


# -- running ---------------------------------------------------------------------------------


def start(paths: list[str], args: Args) -> int:
    from lb.haproxy_master import Ready, daemonize, run_master
    from lb.listeners import ListenerSet

    config, status = load(paths, args)
    if status == 1:
        return EXIT_FAILURE
    if not listens(config):
        return alert("[haproxy.main()] No enabled listener found (check for 'bind' directives) ! Exiting.",
                     notices=False)  # fmt: skip
    for bind in args.master_cli:
        warning(f"the master CLI (-S {bind}) is not supported by lb yet; it is ignored.")
    if args.master_cli and not args.master_worker:
        warning("a master CLI socket was defined, but master-worker mode (-W) is not enabled.")
    if args.unix_socket:
        warning(f"-x {args.unix_socket}: lb takes the listeners of the processes -sf/-st name itself; "
                "the socket is not used.")  # fmt: skip
    listeners = ListenerSet()
    if not take_old_listeners(args, config, listeners):
        return EXIT_FAILURE
    if args.memmax_mb:
        limit = args.memmax_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    from lb.generation import worker_count

    errors = listeners.prepare(config, worker_count(config))
    if errors:
        for message in errors:
            alert(message, notices=False)
        return alert("[haproxy.main()] Some protocols failed to start their listeners! Exiting.", notices=False)
    daemon = (args.daemon or config.global_.daemon) and not (args.foreground or args.debug)
    if daemon:
        return daemonize(paths, config, listeners, args)
    return run_master(paths, config, listeners, args, Ready(args, None))


def take_old_listeners(args: Args, config: Config, listeners: ListenerSet) -> bool:
    """Copies of the listening sockets of the `-sf`/`-st` pids for the addresses this config binds."""
    if not args.old_pids:
        return True
    from lb import takeover
    from lb.listeners import ListenerSet

    wanted = {bind.key for bind, _fe in ListenerSet.binds_of(config) if "fd" not in bind.options}
    taken, problems = takeover.take_listeners(args.old_pids, wanted)
    for problem in problems:
        warning(f"{problem}; binding alongside instead (SO_REUSEPORT).")
    for key, socks in taken.items():
        for sock in socks:
            listeners.adopt(key, sock)
    return True


if __name__ == "__main__":
    main()
