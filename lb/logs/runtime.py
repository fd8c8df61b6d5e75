"""Per-proxy traffic loggers, built in each worker (and the checker) after fork.

    loggers = build_loggers(config, master_pid)       # {frontend name: ProxyLogger}
    logger.enabled                                     # a traffic line is configured
    logger.log(record)                                 # at the end of a stream
    logger.logs_at_accept / logger.log_accept(record)  # `log` without a format: "Connect from ..."
    logger.send_event(level, text)                     # server state changes (checker)

Nothing here raises into the caller: a line that cannot be rendered or
sent is counted as dropped on its targets and reported once
(lb.logs.targets, lb.logs.failures).

`log()` applies `option dontlognull` (nothing logged when the client sent no
byte: HAProxy tests the request channel's total), `option dontlog-normal`,
and `option log-separate-errors` (level err for errors, timeouts, retries,
redispatches and 5xx), renders the compiled format once and sends the same
bytes to every target whose level lets it through.  No structlog, no regex,
no dict on this path: a header cached per second, one encode, one send per
target.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from lb.config.model import MODE_HTTP, Config, Proxy
from lb.logs import failures, render, syslog
from lb.logs.logformat import RenderContext
from lb.logs.model import KIND_FD, KIND_UDP, KIND_UNIX, SyslogTarget, area_of
from lb.logs.record import LogRecord
from lb.logs.targets import Sink, open_sink


class Target:
    """One `log` line in this process: framing and filters over a shared sink."""

    __slots__ = ("sink", "framer", "max_len", "level", "minlevel", "ranges", "sample_size", "sample_index")

    def __init__(self, sink: Sink, framer: syslog.Framer, max_len: int, level: int, minlevel: int,
                 ranges: tuple[tuple[int, int], ...] = (), sample_size: int = 0) -> None:
        self.sink = sink
        self.framer = framer
        self.max_len = max_len
        self.level = level  # messages less severe than this are not sent
        self.minlevel = minlevel  # messages more severe are sent at this level
        self.ranges = ranges
        self.sample_size = sample_size
        self.sample_index = 0

    def sampled(self) -> bool:
        """`sample 1-2,5:6`: of every 6 messages, send the 1st, 2nd and 5th."""
        if not self.sample_size:
            return True
        self.sample_index = self.sample_index % self.sample_size + 1
        for low, high in self.ranges:  # a loop: compiled methods have no generator closures
            if low <= self.sample_index <= high:
                return True
        return False

    def send(self, level: int, body: bytes, now: float, structured_data: str = "-") -> None:
        """Frame and send one message; never raises (the sink counts what is lost)."""
        try:
            if level > self.level or not self.sampled():
                return
            level = max(level, self.minlevel)
            message = syslog.frame(self.framer.header(level, now, structured_data), body, self.max_len)
        except Exception as exc:  # noqa: BLE001  a framing bug loses this message, not the caller's work
            self.sink.lost(f"message could not be framed: {exc!r}")
            return
        self.sink.send(message)


def is_error(record: LogRecord, http: bool) -> bool:
    """HAProxy's strm_log(): errors, timeouts, retries, redispatches, and 5xx in HTTP."""
    term = record.term_state[:1]
    return (record.is_error or record.redispatched or term not in ("-", "L")
            or (term == "-" and record.retries > 0) or (http and record.status >= 500))


class ProxyLogger:
    """Sends the traffic lines and events of one proxy to its targets."""

    def __init__(self, proxy: Proxy, targets: list[Target], master_pid: int, hostname: str, max_body: int) -> None:
        area = area_of(proxy)
        self.name = proxy.name
        self.targets = targets
        self.http = proxy.mode == MODE_HTTP
        self.format = area.compiled
        self.format_sd = area.compiled_sd
        # compiled: walk the format's steps (lb.logs.render); plain Python: its generated f-string
        self.steps = self.format.steps if render.COMPILED and self.format is not None else None
        self.enabled = self.format is not None and bool(targets)
        self.logs_at_accept = area.accept_line and bool(targets)
        self.dontlognull = proxy.option("dontlognull")
        self.dontlog_normal = proxy.option("dontlog-normal")
        self.separate_errors = proxy.option("log-separate-errors")
        self.context = RenderContext(master_pid, hostname)
        self.max_body = max_body

    def log(self, record: LogRecord) -> None:
        """Log one finished stream (or HTTP transaction); never raises."""
        if not self.enabled:
            return
        if self.dontlognull and not (record.bytes_in or record.received):
            return
        try:
            error = is_error(record, self.http)
            if self.dontlog_normal and not error:
                return
            level = syslog.LOG_ERR if error and self.separate_errors else syslog.LOG_INFO
            context = self.context
            steps = self.steps
            line = render.render(steps, record, context) if steps is not None else self.format.render(record, context)
            if not line:
                return
            context.log_count += 1  # after rendering: %lc prints the count before this line, as HAProxy
            sd = self.format_sd.render(record, context) if self.format_sd is not None else "-"
            self._emit(level, line, sd)
        except Exception as exc:  # noqa: BLE001  a render bug loses this line, not the connection
            self._lost_line(exc)

    def log_accept(self, record: LogRecord) -> None:
        """HAProxy's line for a frontend with `log` but no format, sent at accept; never raises."""
        if not self.logs_at_accept:
            return
        mode = "HTTP" if self.http else "TCP"
        try:
            self._emit(syslog.LOG_INFO, f"Connect from {record.client_ip}:{record.client_port} to "
                       f"{record.frontend_ip}:{record.frontend_port} ({self.name}/{mode})")
        except Exception as exc:  # noqa: BLE001
            self._lost_line(exc)

    def send_event(self, level: int | str, text: str) -> None:
        """An event line such as `Server be/s1 is DOWN, reason: ...` (HAProxy's send_log); never raises.

        HAProxy's levels: server down `alert`, up `notice`, no server left `emerg`.
        """
        try:
            if isinstance(level, str):
                level = syslog.level_code(level)
            self._emit(level, text)
        except Exception as exc:  # noqa: BLE001
            self._lost_line(exc)

    def _lost_line(self, exc: Exception) -> None:
        """A line that could not be built is lost for every target: counted there, reported once."""
        for target in self.targets:
            target.sink.dropped += 1
            target.sink.errors += 1
        failures.report(("log line", self.name), "log line dropped", exc=exc, proxy=self.name)

    def _emit(self, level: int, line: str, structured_data: str = "-") -> None:
        body = line.encode("utf-8", "surrogateescape")[: self.max_body]
        now = time.time()
        for target in self.targets:
            target.send(level, body, now, structured_data)

    def dropped(self) -> int:
        return sum(target.sink.dropped for target in self.targets)


class _SinkPool:
    """One socket or fd per destination in a process, whatever the number of proxies using it."""

    def __init__(self) -> None:
        self.sinks: dict[tuple[Any, ...], Sink] = {}
        self.pid = os.getpid()

    def for_this_process(self) -> _SinkPool:
        """Sinks opened before a fork belong to the parent: a child starts its own."""
        if self.pid != os.getpid():
            for sink in self.sinks.values():
                sink.close()
            self.sinks, self.pid = {}, os.getpid()
        return self

    def get(self, target: SyslogTarget) -> Sink:
        if target.kind == KIND_UDP:
            key: tuple[Any, ...] = (KIND_UDP, target.host, target.port, target.family)
        elif target.kind == KIND_UNIX:
            key = (KIND_UNIX, target.path)
        else:
            key = (KIND_FD, target.fd)
        sink = self.sinks.get(key)
        if sink is None:
            sink = self.sinks[key] = open_sink(*key[:1], **_sink_args(target))
        return sink


def _sink_args(target: SyslogTarget) -> dict[str, Any]:
    if target.kind == KIND_UDP:
        return {"host": target.host, "port": target.port, "family": target.family}
    if target.kind == KIND_UNIX:
        return {"path": target.path}
    return {"fd": target.fd}


_POOL = _SinkPool()  # per process: sinks are opened after fork, never inherited


def _targets_of(proxy: Proxy | None, config: Config, master_pid: int) -> list[Target]:
    hostname = config.global_.extras.get("log_send_hostname")
    tag = (area_of(proxy).tag if proxy is not None else None) or config.global_.log_tag
    entries = proxy.log.targets if proxy is not None else config.global_.logs
    out = []
    for entry in entries:
        if not isinstance(entry, SyslogTarget):
            continue
        fmt = entry.format
        if hostname and not entry.format_explicit:
            fmt = "rfc3164"  # log-send-hostname switches the default format (HAProxy)
        framer = syslog.Framer(fmt, syslog.facility_code(entry.facility), tag, master_pid, hostname)
        out.append(Target(_POOL.for_this_process().get(entry), framer, entry.length, syslog.level_code(entry.level),
                          syslog.level_code(entry.minlevel), entry.sample_ranges, entry.sample_size))
    return out


def max_body_length(config: Config) -> int:
    """HAProxy's global.max_syslog_len - 1: the longest `len` of any log line, at least 1024."""
    lengths = [t.length for t in config.global_.logs]
    lengths += [t.length for proxy in config.proxies() for t in proxy.log.targets]
    return max([syslog.DEFAULT_LEN] + lengths) - 1


def _build(config: Config, master_pid: int, proxies: list[Proxy]) -> dict[str, ProxyLogger]:
    hostname = socket.gethostname()
    max_body = max_body_length(config)
    loggers = {}
    for proxy in proxies:
        targets = _targets_of(proxy, config, master_pid)
        if targets:
            loggers[proxy.name] = ProxyLogger(proxy, targets, master_pid, hostname, max_body)
    return loggers


def build_loggers(config: Config, master_pid: int) -> dict[str, ProxyLogger]:
    """Loggers of the frontends that have log targets, by frontend name.  Call after fork."""
    return _build(config, master_pid, list(config.frontends.values()))


def build_backend_loggers(config: Config, master_pid: int) -> dict[str, ProxyLogger]:
    """Loggers of the backends that have log targets (server state messages), by backend name."""
    return _build(config, master_pid, list(config.backends.values()))


def build_global_targets(config: Config, master_pid: int) -> list[Target]:
    """The global `log` lines, for lb's own events (lb.logs.events)."""
    return _targets_of(None, config, master_pid)


def dropped_logs() -> int:
    """Messages dropped in this process because a target was full (HAProxy's DroppedLogs)."""
    return sum(sink.dropped - sink.errors for sink in _POOL.for_this_process().sinks.values())


def lost_logs() -> int:
    """Messages of this process that did not go out, whatever the reason (full, refused, gone, a bug)."""
    return sum(sink.dropped for sink in _POOL.for_this_process().sinks.values())
