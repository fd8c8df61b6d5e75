"""The load balancer's own events through structlog (master, worker, checker, cli).

Traffic lines are not events: they go through lb.logs.runtime.  Events are
start, stop, reload, worker exits and respawns, checker restarts, server
state changes, config warnings.  Each process calls `configure()` once
(`lbctl start --log-format json|console`): events are rendered for a console
on a terminal and as JSON lines otherwise, on stderr, with `role`, `pid` and
`generation` bound.  Once the configuration is known, `attach_syslog(config,
master_pid)` also sends every event to the global `log` targets, framed like
traffic lines (`<PRI>Nov 26 17:39:44 lb[42]: reload outcome=success ...`).

    events.configure("json", role="master", generation=1)
    events.attach_syslog(config, master_pid=os.getpid())
    events.reload(generation=2, outcome="success")
    events.server_state("be", "s1", "DOWN", "Server be/s1 is DOWN, reason: ...")

Logging never raises into the caller: a stderr that is closed or a broken
pipe loses the line (counted in `lost_events()`), a syslog target that
fails counts a dropped message (lb.logs.targets).  A failure that may
repeat on every message is reported through lb.logs.failures.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, TextIO

import structlog

from lb.logs import syslog

_configured = False
_syslog_targets: list[Any] = []  # lb.logs.runtime.Target, global `log` lines of this process

# structlog method name -> syslog level.  HAProxy sends its own messages at notice ("Proxy fe started"),
# warning and alert, never at info, which is the traffic lines' level: a syslog consumer filtering on
# info sees traffic only (HAProxy's reg-tests do), so lb's events map the same way.
_LEVELS = {"debug": syslog.LOG_DEBUG, "info": syslog.LOG_NOTICE, "notice": syslog.LOG_NOTICE,
           "warning": syslog.LOG_WARNING, "warn": syslog.LOG_WARNING, "error": syslog.LOG_ALERT,
           "exception": syslog.LOG_ALERT, "critical": syslog.LOG_ALERT}  # fmt: skip
_NOT_IN_TEXT = ("event", "level", "timestamp", "role", "pid", "message")


def _quote(value: Any) -> str:
    text = ",".join(str(item) for item in value) if isinstance(value, (list, tuple)) else str(value)
    if not text or any(c in text for c in ' "=') or any(ord(c) < 32 for c in text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def event_text(event_dict: dict[str, Any]) -> str:
    """The syslog body of an event: its `message` if it has one (HAProxy's own
    wording, e.g. for server state changes), else `event key=value ...`."""
    message = event_dict.get("message")
    if message:
        return str(message)
    fields = " ".join(f"{k}={_quote(v)}" for k, v in event_dict.items() if k not in _NOT_IN_TEXT)
    text = str(event_dict.get("event", ""))
    return f"{text} {fields}" if fields else text


def _forward_to_syslog(logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: also send the event to the global syslog targets (a
    failure there loses the syslog copy, never the event)."""
    if _syslog_targets:
        try:
            level = _LEVELS.get(method, syslog.LOG_INFO)
            body = event_text(event_dict).encode("utf-8", "surrogateescape")
            now = time.time()
        except Exception as exc:  # noqa: BLE001  a value that cannot be rendered as text
            for target in _syslog_targets:
                target.sink.lost(f"event could not be rendered: {exc!r}")
            return event_dict
        for target in _syslog_targets:
            target.send(level, body, now)
    return event_dict


class _QuietStream:
    """The stream events are printed on, losing a line rather than raising
    (stderr closed, a broken pipe): structlog's PrintLogger writes to it."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.lost = 0

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except (OSError, ValueError):  # ValueError: I/O operation on closed file
            self.lost += text.endswith("\n")  # one event per line, whether its LF is written apart or not
            return 0

    def flush(self) -> None:
        try:
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def isatty(self) -> bool:
        try:
            return self.stream.isatty()
        except (OSError, ValueError, AttributeError):
            return False


_stream: _QuietStream | None = None
_lost_events = 0  # events that could not be built or rendered


def lost_events() -> int:
    """Events of this process that reached neither stderr nor anywhere else."""
    return _lost_events + (_stream.lost if _stream is not None else 0)


def configure(fmt: str | None = None, role: str = "cli", generation: int | None = None,
              stream: TextIO | None = None) -> None:
    """Set up structlog for this process; `fmt` is "json", "console" or None (console on a terminal)."""
    global _configured, _stream
    _stream = _QuietStream(stream or sys.stderr)
    tty = _stream.isatty()
    if fmt is None:
        fmt = "console" if tty else "json"
    if fmt not in ("json", "console"):
        raise ValueError(f"unknown log format '{fmt}' (expects 'json' or 'console')")
    renderer: Any = structlog.dev.ConsoleRenderer(colors=tty) if fmt == "console" else structlog.processors.JSONRenderer()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=False),
            _forward_to_syslog,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=_stream),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()
    bound: dict[str, Any] = {"role": role, "pid": os.getpid()}
    if generation is not None:
        bound["generation"] = generation
    structlog.contextvars.bind_contextvars(**bound)
    _configured = True


def bind(**fields: Any) -> None:
    """Add fields to every later event of this process (e.g. generation=3 after a reload)."""
    structlog.contextvars.bind_contextvars(**fields)


def attach_syslog(config: Any, master_pid: int) -> None:
    """Send events to the global `log` targets of `config` too (call again after a reload)."""
    from lb.logs.runtime import build_global_targets

    _syslog_targets[:] = build_global_targets(config, master_pid)


def detach_syslog() -> None:
    _syslog_targets.clear()


def get_logger(**bound: Any) -> Any:
    if not _configured:
        configure()
    return structlog.get_logger().bind(**bound)


# -- helpers for the master's events -----------------------------------------------------------


def event(name: str, level: str = "info", **fields: Any) -> None:
    """Log event `name` at `level` ("info", "warning", "error" ...); never raises."""
    global _lost_events
    try:
        getattr(get_logger(), level)(name, **fields)
    except Exception:  # noqa: BLE001  a processor or renderer tripping over a value
        _lost_events += 1


def started(generation: int, workers: int, **fields: Any) -> None:
    event("start", generation=generation, workers=workers, **fields)


def stopping(mode: str, **fields: Any) -> None:
    """mode: "graceful" or "immediate"."""
    event("stop", mode=mode, **fields)


def reload(generation: int, outcome: str, **fields: Any) -> None:
    """outcome: "success", or "aborted" with the reason and the generation kept."""
    event("reload", "info" if outcome == "success" else "error", generation=generation, outcome=outcome, **fields)


def worker_exit(slot: int, pid: int, reason: str, respawn: bool, **fields: Any) -> None:
    level = "info" if reason in ("exited normally", "stopped") else "warning"
    event("worker exit", level, slot=slot, worker_pid=pid, reason=reason, respawn=respawn, **fields)


def server_state(backend: str, server: str, state: str, text: str, **fields: Any) -> None:
    """A server changed state; `text` is HAProxy's sentence (also the syslog body)."""
    level = "warning" if state.upper() in ("DOWN", "MAINT") else "info"
    event("server state", level, backend=backend, server=server, state=state, message=text, **fields)


def config_diagnostic(severity: str, message: str, where: str = "") -> None:
    """A configuration ALERT/WARNING/NOTICE met while loading (start or reload)."""
    level = {"ALERT": "error", "WARNING": "warning"}.get(severity, "info")
    event("config", level, severity=severity, message=message, where=where)
