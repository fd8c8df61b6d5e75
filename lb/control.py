"""What lbctl does: start a master, signal a running one, wait for the outcome (cli).

`start --foreground` runs the master in the lbctl process itself (same pid),
so a supervisor signals the master directly; otherwise lbctl daemonizes the
master and waits until its first generation is up before returning, so a
failed start is reported by lbctl's own exit status.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sys
import tempfile
import time

import lb.config
from lb import pidfile
from lb.config.model import Config
from lb.config.validate import has_listener
from lb.errors import EXIT_CONFIG_ERROR, EXIT_GENERIC, EXIT_NOT_RUNNING, EXIT_OK, LbError
from lb.generation import worker_count
from lb.listeners import ListenerSet
from lb.logs import events
from lb.util import pid_alive


def error(message: str) -> None:
    print(f"Error: {message}", file=sys.stderr)


def default_pidfile(paths: list[str]) -> str:
    """Where the pid goes when the config has no `pidfile`: derived from the config paths."""
    digest = hashlib.sha1("\0".join(os.path.abspath(p) for p in paths).encode()).hexdigest()[:10]
    return os.path.join(tempfile.gettempdir(), f"lb-{os.getuid()}-{digest}.pid")


def load_checked(paths: list[str], quiet: bool = False) -> Config | None:
    """Load and print diagnostics HAProxy-style; None when there are alerts."""
    config = lb.config.load(paths)
    if not quiet:
        print_diagnostics(config)
    if config.alerts:
        return None
    if not config.global_.pidfile:
        config.global_.pidfile = default_pidfile(paths)
    return config


def print_diagnostics(config: Config) -> None:
    """Every alert and warning, exactly as `lbctl check` (and `haproxy -c`) prints them."""
    from lb.config.diagnostics import diagnostic_lines

    for line in diagnostic_lines(config, os.getpid()):
        print(line, file=sys.stderr)


# -- start -----------------------------------------------------------------------


def start(paths: list[str], foreground: bool, log_format: str | None) -> int:
    config = load_checked(paths)
    if config is None:
        error("the configuration has errors (see above); not starting.")
        return EXIT_CONFIG_ERROR
    if not has_listener(config):
        error("the configuration has no listener (no enabled frontend with a 'bind'); not starting.")
        return EXIT_CONFIG_ERROR
    running = pidfile.read(config.global_.pidfile or "")
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
    os.setsid()
    if os.fork():
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)

    def ready(problem: str | None) -> None:
        os.write(write_end, (problem or "ok").replace("\n", " ").encode() + b"\n")
        os.close(write_end)

    ready.fd = write_end  # type: ignore[attr-defined]  # children must not keep it open
    code = run_master(paths, config, listeners, log_format or "json", ready)
    os._exit(code)


# -- signalling a running master ---------------------------------------------------


def find_master(paths: list[str], pidfile_path: str | None) -> int:
    path = pidfile_path
    if path is None:
        config = lb.config.load(paths, os.environ)
        path = config.global_.pidfile or default_pidfile(paths)
    pid = pidfile.read(path)
    if pid is None:
        raise LbError(f"no running master found (pidfile {path}).")
    return pid


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.05)
    return False


def stop(paths: list[str], pidfile_path: str | None, now: bool, timeout: float) -> int:
    try:
        pid = find_master(paths, pidfile_path)
    except LbError as exc:
        error(str(exc))
        return EXIT_NOT_RUNNING
    os.kill(pid, signal.SIGTERM if now else signal.SIGUSR1)
    if not wait_gone(pid, timeout):
        error(f"master {pid} still running after {timeout:g}s (connections still draining?).")
        return EXIT_GENERIC
    print(f"lb stopped (master pid {pid})")
    return EXIT_OK


def master_generation(pid: int) -> int | None:
    """The generation in the master's process title (`lb: master gen N`)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            title = fh.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    words = title.split()
    if "gen" in words:
        try:
            return int(words[words.index("gen") + 1])
        except (IndexError, ValueError):
            return None
    return None


def reload(paths: list[str], pidfile_path: str | None, timeout: float) -> int:
    """Validate locally first (nothing is signalled if the config is bad), then SIGHUP and wait."""
    if load_checked(paths) is None:
        error("configuration is invalid; the running generation is untouched.")
        return EXIT_CONFIG_ERROR
    try:
        pid = find_master(paths, pidfile_path)
    except LbError as exc:
        error(str(exc))
        return EXIT_NOT_RUNNING
    before = master_generation(pid)
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = master_generation(pid)
        if before is not None and now is not None and now > before:
            print(f"lb reloaded: generation {now} active (was {before})")
            return EXIT_OK
        time.sleep(0.05)
    error(f"reload signal sent to {pid}, but no new generation became active within {timeout:g}s; see the master's log.")
    return EXIT_GENERIC
