"""The load balancer's own events through structlog (master, worker, checker, cli).

Traffic lines are not events: they go through lb.logs formats and targets.
Events are start, stop, reload, worker exits, server state changes, config
warnings: rendered for a console on a terminal and as JSON otherwise.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog

_configured = False


def configure(fmt: str | None = None, role: str = "cli") -> None:
    """Set up structlog once per process; `fmt` is "json", "console" or None (auto)."""
    global _configured
    if fmt is None:
        fmt = "console" if sys.stderr.isatty() else "json"
    renderer: Any = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()) if fmt == "console" \
        else structlog.processors.JSONRenderer()  # fmt: skip
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=False),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(role=role, pid=os.getpid())
    _configured = True


def get_logger(**bound: Any) -> Any:
    if not _configured:
        configure()
    return structlog.get_logger().bind(**bound)
