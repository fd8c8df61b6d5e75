"""What lbctl does: start a master, stop or reload a running one (cli).

`start --foreground` runs the master in the lbctl process itself (same pid),
so a supervisor signals the master directly; otherwise lbctl daemonizes the
master and waits until its first generation is up before returning, so a
failed start is reported by lbctl's own exit status.

`stop` and `reload` talk to the master through its control socket
(lb.controlsock): a reload answers with its outcome (the new generation
and what it changes, or the configuration errors that kept the running
one).  Without the socket (a master of an older lb, or one started with
another runtime directory), they fall back on the pidfile, and signal the
pid only once verified as an lb master started before the pidfile was
written: a stale pidfile naming a pid reused by another program is refused.
"""

from __future__ import annotations

import os
import signal
import sys
import time

import lb.config
from lb import controlsock, pidfile
from lb.config.model import Config
from lb.config.validate import has_listener
from lb.controlsock import config_digest
from lb.errors import EXIT_CONFIG_ERROR, EXIT_GENERIC, EXIT_NOT_RUNNING, EXIT_OK, LbError, NotRunning
from lb.generation import worker_count
from lb.listeners import ListenerSet
from lb.logs import events
from lb.safefiles import ensure_private_dir, runtime_dir
from lb.util import PROCTITLE_PREFIX, detach, pid_alive


def error(message: str) -> None:
    print(f"Error: {message}", file=sys.stderr)


def default_pidfile(paths: list[str]) -> str:
    """Where the pid goes when the config has no `pidfile`: lb's private runtime
    directory, named after the config paths (the same `-f` finds the same master)."""
    return os.path.join(runtime_dir(), f"lb-{config_digest(paths)}.pid")


def load_checked(paths: list[str], quiet: bool = False) -> Config | None:
    """Load and print diagnostics HAProxy-style; None when there are alerts."""
    config = lb.config.load(paths)
    if not quiet:
        print_diagnostics(config)
    if config.alerts:
        return None
    if not config.global_.pidfile:
        ensure_private_dir(runtime_dir())
        config.global_.pidfile = default_pidfile(paths)
    return config


def print_diagnostics(config: Config) -> None:
    """Every alert and warning, exactly as `lbctl check` (and `haproxy -c`) prints them."""
    from lb.config.diagnostics import diagnostic_lines

    for line in diagnostic_lines(config, os.getpid()):
        print(line, file=sys.stderr)


# -- start -----------------------------------------------------------------------


def start(paths: list[str], foreground: bool, log_format: str | None) -> int:
    try:
        config = load_checked(paths)
    except LbError as exc:
        error(str(exc))
        return exc.exit_status
    if config is None:
        error("the configuration has errors (see above); not starting.")
        return EXIT_CONFIG_ERROR
    if not has_listener(config):
        error("the configuration has no listener (no enabled frontend with a 'bind'); not starting.")
        return EXIT_CONFIG_ERROR
    try:
        running = running_master(paths, config.global_.pidfile)
    except LbError as exc:
        error(str(exc))
        return EXIT_GENERIC
    if running:
        error(f"already running with pid {running} (pidfile {config.global_.pidfile}).")
        return EXIT_GENERIC
    listeners = ListenerSet()
    errors = listeners.prepare(config, worker_count(config))
    if errors:
        for message in errors:
            error(message)
        return EXIT_GENERIC
    if foreground:
        return run_master(paths, config, listeners, log_format, ready=None)
    return daemonize(paths, config, listeners, log_format)


def run_master(paths: list[str], config: Config, listeners: ListenerSet, log_format: str | None, ready) -> int:
    from lb.master import Master
    from lb.util import set_proctitle

    events.configure(log_format, role="master")
    events.attach_syslog(config, os.getpid())
    set_proctitle("master")
    for diag in config.diagnostics:
        events.config_diagnostic(diag.severity, diag.message, str(diag.loc or ""))
    from lb.engine import engine

    events.get_logger().info("start", config=paths, pid=os.getpid(), engine=engine(), workers=worker_count(config))
    return Master(paths, config, listeners, ready).run()


def daemonize(paths: list[str], config: Config, listeners: ListenerSet, log_format: str | None) -> int:
    """Double fork; the original process waits for the master's first word on a pipe."""
    read_end, write_end = os.pipe()
    if os.fork():
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            answer = pipe.readline().decode(errors="replace").strip()
        if answer == "ok":
            pid = pidfile.read(config.global_.pidfile or "")
            print(f"lb started (master pid {pid})")
            return EXIT_OK
        error(answer or "the master exited during startup")
        return EXIT_GENERIC
    os.close(read_end)
    detach()

    def ready(problem: str | None) -> None:
        os.write(write_end, (problem or "ok").replace("\n", " ").encode() + b"\n")
        os.close(write_end)

    ready.fd = write_end  # type: ignore[attr-defined]  # children must not keep it open
    code = run_master(paths, config, listeners, log_format or "json", ready)
    os._exit(code)


# -- finding and verifying a running master ----------------------------------------


def process_start_time(pid: int) -> float | None:
    """Epoch seconds the process started (from /proc), None when unknown."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
        with open("/proc/stat") as fh:
            boot = next(int(line.split()[1]) for line in fh if line.startswith("btime "))
    except (OSError, IndexError, ValueError, StopIteration):
        return None
    return boot + int(fields[19]) / os.sysconf("SC_CLK_TCK")


def process_title(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def verify_master(pid: int, path: str) -> None:
    """Refuse (NotRunning) unless `pid` is an lb master that started before `path` was written."""
    title = process_title(pid)
    if not title.startswith(PROCTITLE_PREFIX + "master"):
        raise NotRunning(f"pidfile {path} names pid {pid}, which is not an lb master ({title or 'no such process'!r}); "
                      f"not signalling it. Remove the stale pidfile.")  # fmt: skip
    started = process_start_time(pid)
    try:
        written = os.stat(path).st_mtime
    except OSError:
        written = None
    if started is not None and written is not None and started > written + 1.0:
        raise NotRunning(f"pidfile {path} is older than process {pid}: that pid was reused; not signalling it.")


def pidfile_of(paths: list[str], pidfile_path: str | None) -> str:
    if pidfile_path:
        return pidfile_path
    config = lb.config.load(paths, os.environ)
    return config.global_.pidfile or default_pidfile(paths)


def running_master(paths: list[str], path: str | None) -> int | None:
    """The pid of this configuration's running master, or None (LbError: a stranger answers)."""
    reply = controlsock.ask(paths, {"cmd": "hello"}, timeout=5.0)
    if reply is not None:
        return int(reply["pid"])
    pid = pidfile.read(path or "")
    if pid is None:
        return None
    try:
        verify_master(pid, path or "")
    except LbError:
        return None  # a stale pidfile: starting over it is fine
    return pid


def wait_gone(pid: int, timeout: float, started: float | None) -> bool:
    """Until `pid` exits (or is replaced: its start time changes)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid) or process_start_time(pid) != started:
            return True
        time.sleep(0.05)
    return False


# -- stop --------------------------------------------------------------------------


def stop(paths: list[str], pidfile_path: str | None, now: bool, timeout: float) -> int:
    try:
        reply = controlsock.ask(paths, {"cmd": "hello"}, timeout=5.0)
        if reply is not None:
            pid = int(reply["pid"])
            started = process_start_time(pid)
            controlsock.ask(paths, {"cmd": "stop", "now": now}, timeout=5.0)
        else:
            path = pidfile_of(paths, pidfile_path)
            pid = pidfile.read(path)
            if pid is None:
                error(f"no running master found (control socket {controlsock.control_path(paths)}, pidfile {path}).")
                return EXIT_NOT_RUNNING
            verify_master(pid, path)
            started = process_start_time(pid)
            os.kill(pid, signal.SIGTERM if now else signal.SIGUSR1)
    except LbError as exc:
        error(str(exc))
        return exc.exit_status
    if not wait_gone(pid, timeout, started):
        error(f"master {pid} still running after {timeout:g}s (connections still draining?).")
        return EXIT_GENERIC
    print(f"lb stopped (master pid {pid})")
    return EXIT_OK


# -- reload ------------------------------------------------------------------------


def reload(paths: list[str], pidfile_path: str | None, timeout: float) -> int:
    """Validate locally first (nothing is sent if the config is bad), then ask the
    master and print its outcome."""
    try:
        if load_checked(paths) is None:
            error("configuration is invalid; the running generation is untouched.")
            return EXIT_CONFIG_ERROR
        reply = controlsock.ask(paths, {"cmd": "reload"}, timeout=timeout)
        if reply is None:
            return reload_by_signal(paths, pidfile_path)
    except LbError as exc:
        error(str(exc))
        return exc.exit_status
    if not reply.get("ok"):
        for line in reply.get("errors", []):
            print(line, file=sys.stderr)
        error(f"reload failed; generation {reply.get('generation', 0)} keeps running.")
        return EXIT_CONFIG_ERROR
    for line in reply.get("diff", []):
        print(line)
    print(f"lb reloaded: generation {reply['generation']} active (was {reply.get('previous', 0)})")
    return EXIT_OK


def reload_by_signal(paths: list[str], pidfile_path: str | None) -> int:
    """No control socket: SIGHUP a verified master; the outcome is in its log."""
    path = pidfile_of(paths, pidfile_path)
    pid = pidfile.read(path)
    if pid is None:
        error(f"no running master found (control socket {controlsock.control_path(paths)}, pidfile {path}).")
        return EXIT_NOT_RUNNING
    verify_master(pid, path)
    os.kill(pid, signal.SIGHUP)
    print(f"reload signal sent to master {pid} (no control socket: see its log for the outcome)")
    return EXIT_OK
