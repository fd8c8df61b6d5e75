"""`lb-haproxy`: HAProxy's command line in front of lb, for tools that call `haproxy` (cli; becomes the master).

    lb-haproxy -c -f /etc/haproxy/haproxy.cfg            # Ansible's validate: exit 0 / 1 (2: no listener)
    lb-haproxy -Ws -f /etc/haproxy/ -p /run/haproxy.pid  # systemd Type=notify; SIGUSR2 or SIGHUP reloads
    lb-haproxy -W -db -f haproxy.cfg                     # containers: foreground master, 130 on SIGINT
    lb-haproxy -D -f haproxy.cfg -p pidfile -sf $(cat pidfile)   # old-style reload by a new process

A thin layer: arguments are HAProxy's (lb.haproxy_args), configurations
load through lb.config, and the master is lb's (lb.master) with HAProxy's
signals and exit codes on top (`HaproxyMaster`).  Under `-W`, SIGUSR2
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
import signal
import socket
import stat
import sys
from typing import Any

import lb.config
import lb.config.keywords  # noqa: F401  (every keyword module: the features they declare, for -cc and -vv)
from lb.config.diagnostics import EXIT_NO_LISTENER, diagnostic_lines, head, verdict
from lb.config.model import Config
from lb.config.validate import has_listener
from lb.haproxy_args import Args, Usage, parse, program_name, usage_text, version_string, version_text
from lb.listeners import ListenerSet
from lb.logs import events
from lb.master import Master

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


def warning(message: str) -> None:
    print(f"{head('WARNING', os.getpid())}{message}", file=sys.stderr)


def print_usage(problem: str | None) -> int:
    """HAProxy's usage(): the version on stdout, the usage on stderr, exit 1."""
    if problem:
        alert(problem)
    sys.stdout.write(version_text(False))
    sys.stdout.flush()
    sys.stderr.write(usage_text(program_name()))
    return EXIT_FAILURE


def config_lines(config: Config, args: Args) -> list[str]:
    """Diagnostics as `haproxy -c` prints them, with HAProxy's version notices."""
    pid = os.getpid()
    lines = diagnostic_lines(config, pid, quiet=args.quiet, diag=args.diag)
    lb_notice = f"{head('NOTICE', pid)}lb version is "
    return [out for line in lines for out in (version_notices(pid) if line.startswith(lb_notice) else [line])]


# -- configuration files ---------------------------------------------------------------


def expand_paths(files: list[str]) -> list[str]:
    """`-f` arguments into files: a directory gives its `*.cfg` files in
    lexical order (not hidden ones, only regular files), as HAProxy's
    cfgfiles_expand_directories(); OSError with HAProxy's text otherwise."""
    paths: list[str] = []
    for name in files:
        try:
            mode = os.stat(name).st_mode
        except OSError as exc:
            raise OSError(f"Cannot open configuration file/directory {name} : {exc.strerror}") from None
        if not stat.S_ISDIR(mode):
            paths.append(name)
            continue
        try:
            entries = sorted(os.listdir(name), key=os.fsencode)
        except OSError as exc:
            raise OSError(f"Cannot open configuration directory {name} : {exc.strerror}") from None
        for entry in entries:
            at = entry.find(".cfg")  # HAProxy: the first ".cfg" must end the name
            if entry.startswith(".") or at < 0 or at + 4 != len(entry):
                continue
            path = os.path.join(name, entry)
            if os.path.isfile(path):
                paths.append(path)
    return paths


def set_environment(args: Args, paths: list[str]) -> None:
    """The variables HAProxy sets for configurations to use (`${HAPROXY_LOCALPEER}` ...)."""
    os.environ["HAPROXY_LOCALPEER"] = args.local_peer or socket.gethostname()
    os.environ["HAPROXY_CFGFILES"] = ";".join(paths)
    if args.master_worker:
        os.environ["HAPROXY_MWORKER"] = "1"


def apply_overrides(config: Config, args: Args) -> None:
    """What the command line sets over the configuration (every generation)."""
    if args.pidfile:
        config.global_.pidfile = args.pidfile
    if args.maxconn:
        config.global_.maxconn = args.maxconn
    if args.maxpconn:
        for proxy in config.frontends.values():
            proxy.maxconn = proxy.maxconn or args.maxpconn
    if args.zero_warning:
        config.global_.extras["zero_warning"] = True


def load(paths: list[str], args: Args) -> tuple[Config, int]:
    """Load, apply the command line, print the diagnostics; (config, verdict status)."""
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
    return has_listener(config) or bool(config.global_.stats_sockets)


def check(paths: list[str], args: Args) -> int:
    """`-c`: 0 valid, 1 invalid, 2 valid but without any listener (as haproxy -c)."""
    _config, status = load(paths, args)
    return status


def check_condition(text: str) -> int:
    """`-cc <cond>`: exit 0 when true, 1 when false, 2 when it cannot be evaluated."""
    from lb.config.cfgcond import CondError, evaluate
    from lb.config.lexer import LexError, split_words

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

    wanted = {bind.key for bind, _fe in ListenerSet.binds_of(config) if "fd" not in bind.options}
    taken, problems = takeover.take_listeners(args.old_pids, wanted)
    for problem in problems:
        warning(f"{problem}; binding alongside instead (SO_REUSEPORT).")
    for key, socks in taken.items():
        for sock in socks:
            listeners.adopt(key, sock)
    return True


class Ready:
    """Called once by the master: None when the first generation is up, else what went wrong."""

    def __init__(self, args: Args, fd: int | None) -> None:
        self.args = args
        self.fd = fd  # the daemonizing parent waits on this pipe; children must close it

    def __call__(self, problem: str | None) -> None:
        if problem is None:
            stop_old_processes(self.args)
        if self.fd is not None:
            os.write(self.fd, (problem or "ok").replace("\n", " ").encode() + b"\n")
            os.close(self.fd)
            self.fd = None


def stop_old_processes(args: Args) -> None:
    """-sf: soft-stop (SIGUSR1) the old pids, -st: terminate them (SIGTERM)."""
    sig = signal.SIGTERM if args.old_pids_hard else signal.SIGUSR1
    for pid in args.old_pids:
        try:
            os.kill(pid, sig)
        except OSError as exc:
            warning(f"cannot signal old process {pid}: {exc.strerror}")


class HaproxyMaster(Master):
    """lb's master with HAProxy's signals, exit codes and `-f` directories (it notifies systemd itself)."""

    def __init__(self, sources: list[str], config: Config, listeners: ListenerSet, ready: Any, args: Args) -> None:
        self.args = args
        self.sources = list(args.files) or list(sources)
        super().__init__(sources, config, listeners, ready)
        self.stop_signal: int | None = None

    @property
    def paths(self) -> list[str]:
        """Re-read on every reload: a `-f` directory may hold other files by then."""
        try:
            return expand_paths(self.sources)
        except OSError:
            return self._paths

    @paths.setter
    def paths(self, value: list[str]) -> None:
        self._paths = list(value)

    def install_signals(self) -> None:
        super().install_signals()
        signal.signal(signal.SIGUSR2, self.on_signal)
        for sig in (signal.SIGTTOU, signal.SIGTTIN):  # HAProxy's -sf pauses old processes with these
            signal.signal(sig, signal.SIG_IGN)

    def on_signal(self, signum: int, frame: Any) -> None:
        if signum == signal.SIGUSR2:  # master-worker: reload, like SIGHUP; standalone: nothing
            if not self.args.master_worker:
                return
            signum = signal.SIGHUP
        self.signal_queue.append(signum)

    def handle_term(self) -> None:
        self.stop_signal = self.stop_signal or signal.SIGTERM
        super().handle_term()

    def handle_int(self) -> None:
        self.stop_signal = self.stop_signal or signal.SIGINT
        super().handle_term()

    def handle_usr1(self) -> None:
        self.stop_signal = self.stop_signal or signal.SIGUSR1
        super().handle_usr1()

    def start_generation(self, config: Config, previous: Any) -> None:
        apply_overrides(config, self.args)
        super().start_generation(config, previous)


def run_master(paths: list[str], config: Config, listeners: ListenerSet, args: Args, ready: Ready) -> int:
    from lb.util import set_proctitle

    stream: Any = QuietStream(sys.stderr) if args.quiet else None
    events.configure(None, role="master", stream=stream)
    events.attach_syslog(config, os.getpid())
    set_proctitle("master")
    events.get_logger().info("start", config=paths, pid=os.getpid(), mode=startup_mode(args))
    master = HaproxyMaster(paths, config, listeners, ready, args)
    code = master.run()
    if code != 0 or master.stop_signal is None:
        return code
    if args.master_worker:
        return 128 + signal.SIGINT if master.stop_signal == signal.SIGINT else 0
    if master.stop_signal in (signal.SIGINT, signal.SIGTERM):
        sys.stdout.flush()
        sys.stderr.flush()
        signal.signal(master.stop_signal, signal.SIG_DFL)
        os.kill(os.getpid(), master.stop_signal)  # standalone HAProxy dies by the signal
    return 0


def startup_mode(args: Args) -> str:
    return "master-worker" if args.master_worker else "standalone"


class QuietStream:
    """`-q`: lb's own events reach stderr only from level error up."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        if '"level": "error"' in text or '"level": "critical"' in text:
            return self.stream.write(text)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return False


def daemonize(paths: list[str], config: Config, listeners: ListenerSet, args: Args) -> int:
    """-D: double fork; the launching process exits 0 once the master's workers are up, 1 otherwise."""
    read_end, write_end = os.pipe()
    if os.fork():
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            answer = pipe.readline().decode(errors="replace").strip()
        if answer == "ok":
            return 0
        return alert(answer or "the master exited during startup", notices=False)
    os.close(read_end)
    os.setsid()
    if os.fork():
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    os._exit(run_master(paths, config, listeners, args, Ready(args, write_end)))


if __name__ == "__main__":
    main()
