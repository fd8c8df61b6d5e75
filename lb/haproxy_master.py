"""lb's master with HAProxy's signals and exit codes, for `lb-haproxy` (master).

Under `-W`, SIGUSR2 reloads like SIGHUP and the master exits 130 after
SIGINT, 0 after SIGTERM or SIGUSR1, as HAProxy 2.6's does; without `-W`,
SIGINT and SIGTERM end the process by that signal, as HAProxy's standalone
mode.  SIGTTOU/SIGTTIN, which a new HAProxy sends to the processes it
replaces with `-sf`, are ignored.  Under `-Ws` (systemd) the master sends
READY=1/RELOADING=1/STOPPING=1 itself (lb.sdnotify).  `-sf`/`-st` signal the
old pids once the first generation is up (`Ready`).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from lb.config.diagnostics import head
from lb.config.model import Config
from lb.haproxy_args import Args, expand_paths
from lb.listeners import ListenerSet
from lb.logs import events
from lb.master import Master
from lb.util import detach


def warning(message: str) -> None:
    print(f"{head('WARNING', os.getpid())}{message}", file=sys.stderr)


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
    if args.nosplice:
        config.global_.nosplice = True


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
        print(f"{head('ALERT', os.getpid())}{answer or 'the master exited during startup'}", file=sys.stderr)
        return 1
    os.close(read_end)
    detach()
    os._exit(run_master(paths, config, listeners, args, Ready(args, write_end)))
