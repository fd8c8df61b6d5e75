"""The one exit of health-check events: stderr, structlog, the proxy's log targets (checker).

Every message built by lb.checker.messages goes through `report()`:

- stderr as HAProxy writes it: `[WARNING]  (pid) : Server be/s1 is DOWN, ...`;
- a structlog event (lb.logs.events) with the message fields;
- the backend's `log` targets at the message's syslog level, through the
  sink installed with `set_log_sink()`: run_checker plugs in lb.logs'
  per-backend loggers (`build_backend_loggers(...)[name].send_event`).
"""

from __future__ import annotations

import os
import sys
from typing import Callable, TextIO

from lb.checker.messages import Message
from lb.config.model import Proxy

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
        except Exception:  # noqa: BLE001  the sink is someone else's code; the checker must go on
            pass


def _emit_event(message: Message) -> None:
    try:
        from lb.logs.events import get_logger

        logger = get_logger()
        method = logger.error if message.stderr_level == "ALERT" else logger.warning
        method(message.event, message=message.text, **message.fields)
    except Exception:  # noqa: BLE001  structlog misconfigured: stderr already has the line
        pass
