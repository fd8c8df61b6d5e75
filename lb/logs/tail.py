"""`lbctl logs`: read, filter, print and summarize traffic log lines (cli).

Sources: a file (`--file`, followed like `tail -n +1 -f` with `-f`, across
rotation and truncation), UDP syslog datagrams received on a local address
(`--listen 127.0.0.1:5514`), or stdin.  Lines may carry any syslog header
(lb.logs.reader strips it).  Filters keep the lines of a frontend, backend,
server, status (`5xx`, `404`, `4xx,503`) or slower than a duration (Ta for
HTTP, Tt for TCP).  Output: the line (status class in colour on a
terminal), JSON lines, or with `--summary` a table per backend: requests,
status classes, errors, p50/p90/p99 latency.  SIGINT and SIGTERM end the
reading and still print the summary.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TextIO

from lb.config.types import address_family, parse_time, split_host_port
from lb.errors import LbError, os_failure
from lb.logs.reader import ParsedLine, parse_line, record_as_dict

POLL_EVERY = 0.2  # seconds between two looks at a followed file
_COLOURS = {1: "\033[2m", 2: "\033[32m", 3: "\033[36m", 4: "\033[33m", 5: "\033[31m"}
_RESET = "\033[0m"


@dataclass
class Options:
    file: str | None = None
    listen: str | None = None
    follow: bool = False
    frontend: str | None = None
    backend: str | None = None
    server: str | None = None
    status: str | None = None
    slower_than: str | None = None
    json: bool = False
    summary: bool = False
    formats: tuple[str, ...] = ()
    max_lines: int = 0  # stop after this many matching lines (0: no limit)


# -- filters -------------------------------------------------------------------------------------


def status_matcher(text: str) -> Callable[[int], bool]:
    """`5xx` / `404` / `4xx,503` -> predicate on a status code; ValueError otherwise."""
    classes, codes = set(), set()
    for item in (part.strip().lower() for part in text.split(",")):
        if len(item) == 3 and item[0] in "12345" and item[1:] == "xx":
            classes.add(int(item[0]))
        elif item.isdigit() and len(item) == 3:
            codes.add(int(item))
        else:
            raise ValueError(f"invalid status filter '{item}' (expects a code like 404 or a class like 5xx)")
    return lambda status: status in codes or status // 100 in classes


def duration(parsed: ParsedLine) -> int | None:
    """Ta for an HTTP line, Tt for a TCP one (None when the format has neither)."""
    record = parsed.record
    if parsed.is_http and ("Ta" in parsed.fields or "Tt" not in parsed.fields):
        return record.t_active if "Ta" in parsed.fields else None
    return record.t_total if "Tt" in parsed.fields else None


def backend_of(parsed: ParsedLine) -> str:
    record = parsed.record
    return record.backend or record.frontend or "-"


@dataclass
class Filter:
    frontend: str | None = None
    backend: str | None = None
    server: str | None = None
    status: Callable[[int], bool] | None = None
    slower_than: int | None = None  # ms

    @classmethod
    def from_options(cls, options: Options) -> Filter:
        return cls(options.frontend, options.backend, options.server,
                   status_matcher(options.status) if options.status else None,
                   parse_time(options.slower_than) if options.slower_than else None)

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.frontend, self.backend, self.server, self.status, self.slower_than))

    def keeps(self, parsed: ParsedLine) -> bool:
        record = parsed.record
        if self.frontend is not None and record.frontend != self.frontend:
            return False
        if self.backend is not None and backend_of(parsed) != self.backend:
            return False
        if self.server is not None and (record.server or "<NOSRV>") not in (self.server, f"<{self.server}>"):
            return False
        if self.status is not None and not ("ST" in parsed.fields and self.status(record.status)):
            return False
        if self.slower_than is not None:
            took = duration(parsed)
            if took is None or took <= self.slower_than:
                return False
        return True


# -- summary -------------------------------------------------------------------------------------


def percentile(sorted_values: list[int], p: float) -> int:
    """Nearest-rank percentile of an ascending list (0 for none)."""
    if not sorted_values:
        return 0
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class BackendStats:
    requests: int = 0
    classes: dict[int, int] = field(default_factory=lambda: {c: 0 for c in range(1, 6)})
    errors: int = 0  # termination state other than a normal end or a local answer
    durations: list[int] = field(default_factory=list)

    def add(self, parsed: ParsedLine) -> None:
        record = parsed.record
        self.requests += 1
        if "ST" in parsed.fields and 100 <= record.status < 600:
            self.classes[record.status // 100] += 1
        if record.term_state[:1] not in ("-", "L"):
            self.errors += 1
        took = duration(parsed)
        if took is not None and took >= 0:
            self.durations.append(took)


class Summary:
    def __init__(self) -> None:
        self.backends: dict[str, BackendStats] = {}

    def add(self, parsed: ParsedLine) -> None:
        self.backends.setdefault(backend_of(parsed), BackendStats()).add(parsed)

    def rows(self) -> list[dict[str, Any]]:
        rows = []
        for name in sorted(self.backends):
            stats = self.backends[name]
            values = sorted(stats.durations)
            row: dict[str, Any] = {"backend": name, "requests": stats.requests}
            row.update({f"{c}xx": n for c, n in stats.classes.items()})
            row.update(errors=stats.errors, p50=percentile(values, 50), p90=percentile(values, 90),
                       p99=percentile(values, 99))
            rows.append(row)
        return rows

    def table(self) -> str:
        header = ["backend", "requests", "1xx", "2xx", "3xx", "4xx", "5xx", "errors", "p50(ms)", "p90(ms)", "p99(ms)"]
        keys = ["backend", "requests", "1xx", "2xx", "3xx", "4xx", "5xx", "errors", "p50", "p90", "p99"]
        lines = [[str(row[k]) for k in keys] for row in self.rows()]
        widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h) for i, h in enumerate(header)]

        def fmt(cells: list[str]) -> str:
            return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

        return "\n".join([fmt(header), *(fmt(line) for line in lines)])


# -- sources -------------------------------------------------------------------------------------


def read_stream(stream: TextIO) -> Iterator[str]:
    yield from stream


def open_log(path: str) -> TextIO:
    """Open a log file for reading; an LbError (exit 1, 4 for permission) if it cannot be."""
    if os.path.isdir(path):
        raise LbError(f"cannot read log file '{path}': Is a directory")
    try:
        return open(path, encoding="utf-8", errors="surrogateescape")  # noqa: SIM115 (reopened on rotation)
    except OSError as exc:
        raise os_failure(exc, f"cannot read log file '{path}'") from None


def follow_file(handle: TextIO, path: str, follow: bool, poll: float = POLL_EVERY) -> Iterator[str]:
    """The lines of `handle` (opened on `path`); with `follow`, then the lines
    appended, across rotation and truncation."""
    try:
        partial = ""
        while True:
            chunk = handle.readline()
            if chunk:
                partial += chunk
                if partial.endswith("\n"):
                    yield partial
                    partial = ""
                continue
            if not follow:
                if partial:
                    yield partial
                return
            time.sleep(poll)
            handle = _reopen_if_rotated(path, handle)
    finally:
        handle.close()


def _reopen_if_rotated(path: str, handle: Any) -> Any:
    try:
        current = os.stat(path)
    except FileNotFoundError:
        return handle  # rotated away, the new file is not there yet
    if current.st_ino != os.fstat(handle.fileno()).st_ino:
        handle.close()
        return open(path, encoding="utf-8", errors="surrogateescape")  # noqa: SIM115
    if current.st_size < handle.tell():  # truncated in place
        handle.seek(0)
    return handle


def parse_listen(address: str) -> tuple[int, tuple[str, int]]:
    """`127.0.0.1:5514`, `[::1]:5514`, `:5514` -> (family, sockaddr); ValueError otherwise."""
    host, port_text = split_host_port(address)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"invalid address '{address}' (expects ADDR:PORT with a port from 1 to 65535)")
    host = host or "127.0.0.1"
    try:
        family = address_family(host)
    except ValueError:
        raise ValueError(f"invalid address '{address}' (expects an IPv4 or IPv6 address, not '{host}')") from None
    return family, (host, int(port_text))


def bind_udp(address: str) -> socket.socket:
    """A UDP socket bound on `address`; an LbError if it cannot be had."""
    family, sockaddr = parse_listen(address)
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        raise os_failure(exc, f"cannot listen on {address}") from None
    return sock


def listen_udp(sock: socket.socket) -> Iterator[str]:
    """Syslog datagrams received on `sock`, one line each."""
    try:
        while True:
            data = sock.recv(65536)
            yield data.decode("utf-8", "surrogateescape").rstrip("\n")
    finally:
        sock.close()


def open_source(options: Options, stdin: TextIO) -> Iterator[str]:
    """The lines to read; the file is opened or the address bound right away,
    so that a bad source is reported before anything is printed."""
    if options.listen:
        return listen_udp(bind_udp(options.listen))
    if options.file:
        return follow_file(open_log(options.file), options.file, options.follow)
    return read_stream(stdin)


# -- output --------------------------------------------------------------------------------------


def colourize(parsed: ParsedLine, text: str) -> str:
    record = parsed.record
    if "ST" in parsed.fields and 100 <= record.status < 600:
        colour = _COLOURS[record.status // 100]
    elif record.term_state[:1] not in ("-", "L"):
        colour = _COLOURS[5]
    else:
        return text
    return f"{colour}{text}{_RESET}"


def _on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def run(options: Options, stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    """`lbctl logs`: read until the source ends (or SIGINT/SIGTERM), return the exit status."""
    stdin, out = stdin or sys.stdin, stdout or sys.stdout
    if hasattr(out, "reconfigure"):  # a line read with surrogateescape goes out byte for byte
        out.reconfigure(errors="surrogateescape")
    keep = Filter.from_options(options)
    summary = Summary() if options.summary else None
    colour = not options.json and hasattr(out, "isatty") and out.isatty()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    matched = 0
    try:
        for raw in open_source(options, stdin):
            line = raw.rstrip("\r\n")
            parsed = parse_line(line, options.formats)
            if parsed is None:
                if not (keep.active or options.json or summary):
                    out.write(line + "\n")
                continue
            if not keep.keeps(parsed):
                continue
            matched += 1
            emit(parsed, line, out, summary, options.json, colour)
            if options.max_lines and matched >= options.max_lines:
                break
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    if summary is not None:
        out.write((json.dumps({"backends": summary.rows()}) if options.json else summary.table()) + "\n")
    out.flush()
    return 0


def emit(parsed: ParsedLine, line: str, out: TextIO, summary: Summary | None, as_json: bool, colour: bool) -> None:
    if summary is not None:
        summary.add(parsed)
        return
    if as_json:
        out.write(json.dumps(record_as_dict(parsed)) + "\n")
    else:
        out.write((colourize(parsed, line) if colour else line) + "\n")
    out.flush()
