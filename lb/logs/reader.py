"""Read log lines back into fields: the inverse of lb.logs.logformat (cli; tests).

`parse_line(text)` strips any syslog header (the eight HAProxy framings, or
what a syslog daemon writes to files: `Nov 26 17:39:44 host lb[42]: ...`),
then matches the body against the known formats (httplog, tcplog, their CLF
variants, the "Connect from" line, and any custom format given) and returns
the fields both raw (by alias) and as a LogRecord.  The regular expression of
a format is derived from the same node list the compiler uses, so a format
that renders a record can always read its own lines back.  Pure functions,
no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable

from lb.logs import dates, syslog
from lb.logs.aliases import ALIASES, OPT_ESC, OPT_HEXA, OPT_MANDATORY, OPT_QUOTE
from lb.logs.encoding import decode
from lb.logs.logformat import STYLES, Node, parse_format
from lb.logs.record import LogRecord

_QUOTED = r'"[^"]*"'
_PATTERNS = {
    "ip": r"[0-9A-Fa-f.:]+|-|unix", "port": r"\d+|-|[0-9A-F]{4}", "int": r"\+?-?\d+", "derived": r"\+?-?\d+",
    "epoch": r"[0-9A-F]+", "millis": r"[0-9A-F]+", "counter": r"[0-9A-F]+", "status": r"-?\d+",
    "date_ms": r"\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}", "date_gmt": r"\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}",
    "date_local": r"\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}", "ts": r"[A-Za-z-]{2}", "tsc": r"[A-Za-z-]{4}",
    "rc": r"\+?\d+", "hdrs": r"\{[^}]*\}", "hdrlist": r"\S+(?: \S+)*?", "request": r"<BADREQ>|\S+(?: \S+){1,2}",
    "reqpart": r"\S*", "name": r"\S+", "backend": r"\S+", "server": r"\S+", "ft": r"\S+", "hostname": r"\S+",
    "text": r"\S+", "none": r"\S+", "sample": r"\S+",
}  # fmt: skip
_NOT_QUOTABLE = ("port", "int", "derived", "epoch", "millis", "counter", "status", "date_ms", "date_gmt",
                 "date_local", "ts", "tsc", "rc")  # fmt: skip
_MAYBE_EMPTY = ("hdrs", "hdrlist")

CONNECT_FROM = re.compile(r"Connect from (?P<ci>\S+):(?P<cp>\d+) to (?P<fi>\S+):(?P<fp>\d+) \((?P<ft>[^/]+)/(?P<mode>HTTP|TCP)\)")


@dataclass
class Header:
    """What a syslog header said (any part may be missing)."""

    priority: int | None = None
    timestamp: str | None = None
    hostname: str | None = None
    tag: str | None = None
    pid: int | None = None

    @property
    def facility(self) -> str | None:
        return syslog.FACILITIES[self.priority >> 3] if self.priority is not None and self.priority >> 3 < 24 else None

    @property
    def level(self) -> str | None:
        return syslog.LEVELS[self.priority & 7] if self.priority is not None else None


@dataclass
class ParsedLine:
    style: str  # "httplog", "tcplog", "httplog clf", "tcplog clf", "connect", or the custom format
    body: str
    header: Header
    fields: dict[str, str] = field(default_factory=dict)  # alias -> text as logged
    record: LogRecord = field(default_factory=LogRecord)

    @property
    def is_http(self) -> bool:
        return "ST" in self.fields or self.style.startswith("http")


# -- syslog headers ------------------------------------------------------------------------------

_MONTH = "(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_LEGACY = re.compile(rf"(?P<ts>{_MONTH} [ \d]\d \d\d:\d\d:\d\d) (?:(?P<host>\S+) )??(?P<tag>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: ")
_ISO = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)"
_RFC5424 = re.compile(rf"1 (?P<ts>{_ISO}|-) (?P<host>\S+) (?P<tag>\S+) (?P<pid>\S+) \S+ (?:-|(?:\[.*?\])+) ")
_ISO_TAGGED = re.compile(rf"(?P<ts>{_ISO}) (?:(?P<host>\S+) )??(?P<tag>[^\s\[:]+)(?:\[(?P<pid>\d+)\])?: ")
_ISO_ONLY = re.compile(rf"(?P<ts>{_ISO}) ")
_PRI = re.compile(r"<(\d{1,3})>")


def split_header(text: str) -> tuple[Header, str]:
    """(header, body) for a line in any HAProxy framing or a syslog daemon's file format."""
    header = Header()
    pri = _PRI.match(text)
    if pri:
        header.priority = int(pri.group(1))
        text = text[pri.end():]
    for pattern in (_RFC5424, _LEGACY, _ISO_TAGGED, _ISO_ONLY):
        match = pattern.match(text)
        if match:
            groups = match.groupdict()
            header.timestamp = groups.get("ts")
            header.hostname = None if groups.get("host") in (None, "-") else groups["host"]
            header.tag = groups.get("tag")
            pid = groups.get("pid")
            header.pid = int(pid) if pid and pid.isdigit() else None
            return header, text[match.end():]
    return header, text


# -- bodies --------------------------------------------------------------------------------------


def _node_pattern(node: Node, index: int) -> str:
    kind = "sample" if node.kind == "sample" else node.alias.kind  # type: ignore[union-attr]
    pattern = _PATTERNS[kind]
    if node.opts & OPT_QUOTE and kind not in _NOT_QUOTABLE:
        # a line cut by the syslog length may lose the closing quote of its last field
        pattern = {"hdrlist": r'"[^"]*"(?: "[^"]*")*?', "request": r'"[^"]*(?:"|$)'}.get(kind, _QUOTED)
    elif node.opts & OPT_HEXA and kind in ("ip", "port"):
        pattern = r"[0-9A-F]+|-"
    return f"(?P<g{index}>{pattern})"


_TEXT_KINDS = ("ip", "name", "backend", "server", "ft", "hostname", "text", "none")  # lf_text: '-' needs M


def _maybe_empty(node: Node) -> bool:
    """Prints nothing, separators included, when absent: the header captures only."""
    return node.alias is not None and node.alias.kind in _MAYBE_EMPTY


def _may_print_nothing(node: Node) -> bool:
    """A `%{-M}` string with no value prints nothing but keeps its separators (as %HQ may)."""
    if node.alias is None or node.alias.kind in _TEXT_KINDS:
        return not node.opts & OPT_MANDATORY
    return node.alias.field == "query"


@lru_cache(maxsize=64)
def format_regex(fmt: str) -> tuple[re.Pattern[str], tuple[Node, ...]]:
    """The regex reading lines of `fmt`, and the nodes (group `g<i>` is node i)."""
    nodes = parse_format(fmt)
    pieces: list[str] = []
    state = "space"  # as the renderer: "space", "solid" or "maybe" (after a possibly empty field)
    skip_sep = False
    for index, node in enumerate(nodes):
        if node.kind == "sep":
            if not skip_sep and state != "space":
                pieces.append(" " if state == "solid" else " ?")
                state = "space"
            skip_sep = False
            continue
        skip_sep = False
        if node.kind == "text":
            pieces.append(re.escape(node.text))
            state = "solid"
        elif not _maybe_empty(node):
            pattern = _node_pattern(node, index)
            pieces.append(f"(?:{pattern})?" if _may_print_nothing(node) else pattern)
            state = "solid"
        elif state == "space" and index + 1 < len(nodes) and nodes[index + 1].kind == "sep":
            pieces.append(f"(?:{_node_pattern(node, index)} )?")  # an empty field takes its separator along
            skip_sep = True
        else:
            pieces.append(f"(?:{_node_pattern(node, index)})?")
            state = "maybe" if state != "solid" else "solid"
    return re.compile("".join(pieces) + " *"), tuple(nodes)


_BACKSLASHED = re.compile(r'\\(["\\\]])')  # what the E flag escaped


def _unquote(text: str) -> str:
    if text[:1] == '"':
        text = text[1:]
        return text[:-1] if text.endswith('"') else text
    return text


def _set_date(record: LogRecord, attr: str, text: str) -> None:
    if not getattr(record, attr) or text[20:21] == ".":  # keep the most precise date seen
        setattr(record, attr, dates.parse_log_date(text))


def _set_request(record: LogRecord, attr: str, text: str) -> None:
    if text == "<BADREQ>":
        return
    line = decode(text)
    record.request_line = line
    parts = line.split(" ")
    if len(parts) >= 2:
        record.method, record.uri = parts[0], parts[1]
        record.http_version = parts[2] if len(parts) > 2 else ""


def _set_list(record: LogRecord, attr: str, text: str) -> None:
    items = re.findall(r'"([^"]*)"', text) if text.startswith('"') else text.split(" ")
    setattr(record, attr, [decode(v) if v != "-" else "" for v in items])


_SETTERS: dict[str, Callable[[LogRecord, str, str], None]] = {
    "ip": lambda r, a, t: setattr(r, a, t),
    "port": lambda r, a, t: setattr(r, a, int(t) if t.isdigit() else 0),
    "int": lambda r, a, t: setattr(r, a, int(t.lstrip("+"))),
    "derived": lambda r, a, t: setattr(r, a, int(t.lstrip("+"))) if a else None,
    "status": lambda r, a, t: setattr(r, a, int(t)),
    "date_ms": _set_date, "date_gmt": _set_date, "date_local": _set_date,
    "name": lambda r, a, t: setattr(r, a, t),
    "ft": lambda r, a, t: (setattr(r, "frontend", t.rstrip("~")), setattr(r, "frontend_ssl", t.endswith("~"))),
    "backend": lambda r, a, t: setattr(r, "backend", t),
    "server": lambda r, a, t: setattr(r, "server", None if t == "<NOSRV>" else t),
    "text": lambda r, a, t: setattr(r, a, t if t else "-"),
    "ts": lambda r, a, t: setattr(r, "term_state", t),
    "tsc": lambda r, a, t: (setattr(r, "term_state", t[:2]), setattr(r, "cookie_flags", t[2:])),
    "rc": lambda r, a, t: (setattr(r, "redispatched", t.startswith("+")), setattr(r, "retries", int(t.lstrip("+")))),
    "hdrs": lambda r, a, t: setattr(r, a, [decode(v) for v in t[1:-1].split("|")]),
    "hdrlist": _set_list,
    "request": _set_request,
    "counter": lambda r, a, t: setattr(r, a, int(t)) if a == "request_counter" else None,
}  # fmt: skip


def parse_body(body: str, fmt: str) -> list[tuple[Node, str]] | None:
    """(node, logged text) for each field of a body written with `fmt`; None if it does not fit."""
    regex, nodes = format_regex(fmt)
    match = regex.fullmatch(body)
    if match is None:
        return None
    return [(nodes[int(name[1:])], value) for name, value in match.groupdict().items() if value is not None]


def field_name(node: Node) -> str:
    """`ST` for %ST, `[src]` for %[src]."""
    return node.alias.name if node.alias is not None else f"[{node.sample.text}]"  # type: ignore[union-attr]


def _decode_hex(node: Node, kind: str, text: str) -> str:
    """Undo the X flag on addresses and ports."""
    if text == "-" or not node.opts & OPT_HEXA:
        return text
    if kind == "ip":
        return str(ipaddress.ip_address(bytes.fromhex(text)))
    return str(int(text, 16))


def _time_fields(record: LogRecord, fields: dict[str, tuple[Node, str]]) -> None:
    """Fill the dates the format only implies (CLF: %trg and %ms; %Ts)."""
    if not record.accept_date and "Ts" in fields:
        node, text = fields["Ts"]
        record.accept_date = float(int(text, 16) if node.opts & OPT_HEXA else int(text))
    if not record.accept_date and record.request_date:
        record.accept_date = record.request_date
    if "ms" in fields and not fields.get("t"):
        node, text = fields["ms"]
        record.accept_date = int(record.accept_date) + (int(text, 16) if node.opts & OPT_HEXA else int(text)) / 1000
    if not record.request_date:
        record.request_date = record.accept_date


def fields_to_record(pairs: list[tuple[Node, str]]) -> LogRecord:
    """A LogRecord holding what the fields say (derived timers are not stored)."""
    record = LogRecord()
    fields: dict[str, tuple[Node, str]] = {}
    for node, text in pairs:
        fields.setdefault(field_name(node), (node, text))
    done: set[str] = set()  # the first field wins (%hr is more exact than %hrl)
    for node, text in pairs:
        if node.alias is None or node.alias.kind not in _SETTERS:
            continue
        kind, attr = node.alias.kind, node.alias.field
        if kind == "tsc":  # %ts may have set the state already; the cookie flags are %tsc's alone
            record.cookie_flags = text[2:]
        elif kind == "ft":  # likewise %f and the SSL mark of %ft
            record.frontend_ssl = _unquote(text).endswith("~")
        if attr in done and not kind.startswith("date"):
            continue
        done.add(attr)
        value = text if kind in _NOT_QUOTABLE or kind == "hdrlist" else _unquote(text)
        if node.opts & OPT_ESC:
            value = _BACKSLASHED.sub(r"\1", value)
        _SETTERS[kind](record, attr, _decode_hex(node, kind, value))
    _time_fields(record, fields)
    return record


def parse_line(text: str, formats: tuple[str, ...] = ()) -> ParsedLine | None:
    """Parse one line (trailing newline allowed); None if it is no known log line."""
    header, body = split_header(text.rstrip("\r\n"))
    for style, fmt in (*((f, f) for f in formats), *STYLES.items()):
        pairs = parse_body(body, fmt)
        if pairs is not None:
            fields: dict[str, str] = {}
            for node, text in pairs:
                fields.setdefault(field_name(node), text)
            return ParsedLine(style, body, header, fields, fields_to_record(pairs))
    match = CONNECT_FROM.fullmatch(body)
    if match:
        record = LogRecord()
        record.client_ip, record.client_port = match["ci"], int(match["cp"])
        record.frontend_ip, record.frontend_port = match["fi"], int(match["fp"])
        record.frontend = match["ft"]
        return ParsedLine("connect", body, header, dict(match.groupdict()), record)
    return None


def record_as_dict(parsed: ParsedLine) -> dict[str, Any]:
    """JSON-ready fields of a parsed line: header, then the record attributes the format carries."""
    out: dict[str, Any] = {"style": parsed.style}
    header = parsed.header
    for key in ("timestamp", "hostname", "tag", "pid", "facility", "level"):
        value = getattr(header, key)
        if value is not None:
            out[f"syslog_{key}"] = value
    record = parsed.record
    for name in parsed.fields:
        alias = ALIASES.get(name)
        if alias is None or not alias.field or alias.kind in ("hdrlist", "reqpart", "counter", "epoch", "millis"):
            continue
        value = getattr(record, alias.field)
        if alias.kind.startswith("date"):
            value = dates.isoformat(value)
        out[alias.field] = value
        if alias.kind == "tsc":
            out["cookie_flags"] = record.cookie_flags
        if alias.kind == "request" and record.method:
            out.update(method=record.method, uri=record.uri, http_version=record.http_version)
        if alias.kind == "ft":
            out["frontend_ssl"] = record.frontend_ssl
    if parsed.style == "connect":
        out.update(parsed.fields)
    return out
