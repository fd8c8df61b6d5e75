"""The one exit of health-check events: stderr, structlog, the proxy's log targets (checker).

Every message built by lb.checker.messages goes through `report()`:

- stderr as HAProxy writes it: `[WARNING]  (pid) : Server be/s1 is DOWN, ...`;
- a structlog event (lb.logs.events) with the message fields;
- the backend's `log` targets at the message's syslog level, through the
  sink installed with `set_log_sink()`: run_checker plugs in lb.logs'
  per-backend loggers (`build_backend_loggers(...)[name].send_event`).

None of them raises into the checker: a lost line is counted and reported
by lb.logs.  `internal_error()` is how the checker reports its own bugs.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Callable, TextIO

from lb.checker.messages import Message
from lb.config.model import Proxy
from lb.logs import events, failures

if TYPE_CHECKING:
    from lb.checker.target import CheckTarget

# The per-proxy syslog call site: a function taking (proxy, syslog_level, text);
# without one, events reach stderr and structlog only.
LogSink = Callable[[Proxy, str, str], None]
_log_sink: LogSink | None = None


def set_log_sink(sink: LogSink | None) -> None:
    global _log_sink
    _log_sink = sink


def stderr_line(level: str, text: str, pid: int) -> str:
    """`[WARNING]  (1234) : text`: the level tag padded to HAProxy's column."""
    return f"{'[' + level + ']':<10} ({pid}) : {text}\n"


def report(message: Message, proxy: Proxy | None, stream: TextIO | None = None) -> None:
    """Send one health event everywhere it belongs; never raises (a log problem must not stop checks)."""
    out = stream or sys.stderr
    try:
        out.write(stderr_line(message.stderr_level, message.text, os.getpid()))
        out.flush()
    except (OSError, ValueError):
        pass
    _emit_event(message)
    if _log_sink is not None and proxy is not None:
        try:
            _log_sink(proxy, message.syslog_level, message.syslog_text)
        except Exception as exc:  # noqa: BLE001  the sink counts its own losses; this is a bug in it
            failures.report(("health log", proxy.name), "log line dropped", exc=exc, proxy=proxy.name)


def _emit_event(message: Message) -> None:
    events.event(message.event, "error" if message.stderr_level == "ALERT" else "warning", message=message.text,
                 **message.fields)  # fmt: skip  (never raises; stderr already has the line)


def internal_error(step: str, target: CheckTarget | None, exc: Exception) -> None:
    """A bug met by the checker (`step`: where): one structlog event with the
    traceback, like a worker's; the same failure again on the same server is
    not reported more than once a minute (lb.logs.failures).  Never raises."""
    backend, server = (target.backend.name, target.server.name) if target is not None else (None, None)
    failures.report(("checker", backend, server, step, type(exc)), "internal error", exc=exc,
                    where=f"checker {step}", backend=backend, server=server)
