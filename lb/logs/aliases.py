"""The log-format alias table and how each kind of alias renders (master compiles, worker runs).

`ALIASES` is data: alias name -> (kind, HTTP only?, LogRecord field).  The
kind says how a value is written (HAProxy 2.6 src/log.c `sess_build_logline`)
and, in lb.logs.reader, how it is read back.  A renderer factory turns one
alias with its flags into a `Part`: a Python expression over the record `r`
and the logger context `c`, plus the helper objects the expression names.
lb.logs.logformat joins the parts of a format into one generated function.

Flags (`%{+Q}`, `%{-M}`, `%o`): M mandatory (an absent string prints `-`;
on by default), Q quotes strings, X writes addresses, ports and counters in
hexadecimal, E backslash-escapes `"`, `\\` and `]`.  As in HAProxy, Q does
not apply to numbers, dates or termination states.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from lb.logs import dates
from lb.logs.encoding import encode_header, encode_url, escape_rfc5424, hex_ip
from lb.logs.requestline import PARTS

OPT_MANDATORY, OPT_QUOTE, OPT_HEXA, OPT_ESC = 1, 2, 4, 8
FLAG_BITS = {"M": OPT_MANDATORY, "Q": OPT_QUOTE, "X": OPT_HEXA, "E": OPT_ESC}
ABSENT = (None, "", "-")  # how a record says "no value" for an optional string


@dataclass(frozen=True)
class Alias:
    name: str
    kind: str
    http_only: bool
    field: str = ""  # LogRecord attribute (or a part name for "reqpart")


def _table() -> dict[str, Alias]:
    rows = [
        # name  kind       http  field
        ("o", "global", False, ""),
        ("ci", "ip", False, "client_ip"), ("cp", "port", False, "client_port"),
        ("fi", "ip", False, "frontend_ip"), ("fp", "port", False, "frontend_port"),
        ("bi", "ip", False, "backend_src_ip"), ("bp", "port", False, "backend_src_port"),
        ("si", "ip", False, "server_ip"), ("sp", "port", False, "server_port"),
        ("t", "date_ms", False, "accept_date"), ("tr", "date_ms", True, "request_date"),
        ("T", "date_gmt", False, "accept_date"), ("trg", "date_gmt", True, "request_date"),
        ("Tl", "date_local", False, "accept_date"), ("trl", "date_local", True, "request_date"),
        ("Ts", "epoch", False, "accept_date"), ("ms", "millis", False, "accept_date"),
        ("f", "name", False, "frontend"), ("ft", "ft", False, "frontend"),
        ("b", "backend", False, "backend"), ("s", "server", False, "server"),
        ("H", "hostname", False, ""), ("ID", "text", False, "unique_id"),
        ("CC", "text", True, "captured_request_cookie"), ("CS", "text", True, "captured_response_cookie"),
        ("sslc", "none", False, ""), ("sslv", "none", False, ""),
        ("Th", "int", False, "t_handshake"), ("Ti", "int", True, "t_idle"), ("TR", "int", True, "t_request"),
        ("Tw", "int", False, "t_queue"), ("Tc", "int", False, "t_connect"), ("Tr", "int", True, "t_response"),
        ("Tt", "int", False, "t_total"), ("Ta", "derived", True, "t_active"), ("Tq", "derived", True, ""),
        ("Td", "derived", False, ""), ("Tu", "derived", False, ""),
        ("B", "int", False, "bytes_out"), ("U", "int", False, "bytes_in"), ("ST", "status", False, "status"),
        ("ts", "ts", False, "term_state"), ("tsc", "tsc", False, "term_state"),
        ("ac", "int", False, "actconn"), ("fc", "int", False, "feconn"), ("bc", "int", False, "beconn"),
        ("sc", "int", False, "srvconn"), ("rc", "rc", False, "retries"),
        ("sq", "int", False, "srv_queue"), ("bq", "int", False, "backend_queue"),
        ("hr", "hdrs", False, "captured_request_headers"), ("hs", "hdrs", False, "captured_response_headers"),
        ("hrl", "hdrlist", False, "captured_request_headers"),
        ("hsl", "hdrlist", False, "captured_response_headers"),
        ("r", "request", True, "request_line"),
        ("HM", "reqpart", True, "method"), ("HU", "reqpart", True, "uri"), ("HP", "reqpart", True, "path"),
        ("HPO", "reqpart", True, "path_only"), ("HQ", "reqpart", True, "query"), ("HV", "reqpart", True, "version"),
        ("rt", "counter", False, "request_counter"), ("lc", "counter", False, "log_count"),
        ("pid", "counter", False, "pid"),
    ]  # fmt: skip
    return {name: Alias(name, kind, http, fld) for name, kind, http, fld in rows}


ALIASES = _table()


@dataclass
class Part:
    """One rendered node: `expr` is Python over `r` (LogRecord) and `c` (context);
    `{p}` in it is replaced by a prefix unique to the node, for its helpers."""

    expr: str
    helpers: dict[str, Any] = field(default_factory=dict)
    # Prints nothing at all, separators included, when it has no value: only the
    # header captures when none is configured.  Any other field, even an empty
    # `%{-M}` one, counts as written (HAProxy's last_isspace = 0), so the
    # separators around it stay: "%{-M}ID %ST" logs " 200".
    maybe_empty: bool = False


# -- string fields (HAProxy's lf_text) -----------------------------------------------------------


def text_renderer(opts: int) -> Callable[[Any], str]:
    """A function writing one optional string with the M, Q and E flags."""
    quote, escape = bool(opts & OPT_QUOTE), bool(opts & OPT_ESC)
    missing = '""' if quote else ("-" if opts & OPT_MANDATORY else "")

    def render(value: Any) -> str:
        if value in ABSENT:
            return missing
        value = str(value)
        if escape:
            value = escape_rfc5424(value)
        return f'"{value}"' if quote else value

    return render


def _text_part(value_expr: str, opts: int) -> Part:
    if opts == OPT_MANDATORY:  # the default: inline, no call
        return Part(f"({value_expr} or _DASH)")
    return Part(f"{{p}}text({value_expr})", {"text": text_renderer(opts)})


def _ip_part(alias: Alias, opts: int) -> Part:
    if not opts & OPT_HEXA:
        return _text_part(f"r.{alias.field}", opts)
    text = text_renderer(opts & ~OPT_QUOTE)
    return Part(f"{{p}}ip(r.{alias.field})", {"ip": lambda v: text(v) if v in ABSENT else hex_ip(v)})


def _port_part(alias: Alias, opts: int) -> Part:
    ip_field = ALIASES[alias.name[0] + "i"].field  # cp -> ci, bp -> bi ...
    missing = text_renderer(opts)(None)
    hexa = bool(opts & OPT_HEXA)

    def port(ip: Any, value: int) -> str:
        if ip in ABSENT:  # no connection on that side: HAProxy prints '-'
            return missing
        return f"{value:04X}" if hexa else str(value)

    if alias.name in ("cp", "fp") and not hexa:
        return Part(f"r.{alias.field}")  # the client side always exists
    return Part(f"{{p}}port(r.{ip_field}, r.{alias.field})", {"port": port})


# -- numbers -------------------------------------------------------------------------------------


def _epoch(value: float) -> int:
    return dates.split_time(value)[0]


def _millis(value: float) -> int:
    return dates.split_time(value)[1]


def _counter_part(alias: Alias, opts: int) -> Part:
    source = f"r.{alias.field}" if alias.field == "request_counter" else f"c.{alias.field}"
    if opts & OPT_HEXA:
        return Part(f"{{p}}hex({source})", {"hex": lambda v: f"{v:04X}"})
    return Part(source)


def _epoch_part(alias: Alias, opts: int) -> Part:
    if opts & OPT_HEXA:
        return Part("{p}hex(r.accept_date)", {"hex": lambda v: f"{_epoch(v):04X}"})
    return Part("_epoch(r.accept_date)")


def _millis_part(alias: Alias, opts: int) -> Part:
    if opts & OPT_HEXA:
        return Part("{p}hex(r.accept_date)", {"hex": lambda v: f"{_millis(v):02X}"})
    return Part("{p}pad(r.accept_date)", {"pad": lambda v: f"{_millis(v):03d}"})


def request_date(r: Any) -> float:
    """%tr: the record's request date, else HAProxy's accept + Th + Ti."""
    if r.request_date:
        return r.request_date
    return r.accept_date + (r.t_handshake + r.t_idle) / 1000 if r.t_idle >= 0 else r.accept_date


def _date_part(alias: Alias, opts: int) -> Part:
    formatter = {"date_ms": dates.LocalMillis, "date_gmt": dates.GmtSeconds, "date_local": dates.LocalSeconds}
    source = "_request_date(r)" if alias.field == "request_date" else "r.accept_date"
    return Part(f"{{p}}date({source})", {"date": formatter[alias.kind]()})


def tq(r: Any) -> int:
    """Tq = Th + Ti + TR (-1 without a complete request)."""
    return r.t_handshake + max(r.t_idle, 0) + r.t_request if r.t_request >= 0 else -1


def td_http(r: Any) -> int:
    """Td = Tt - (Th + Ti + TR + Tw + Tc + Tr) once response headers arrived, else -1."""
    if r.t_response < 0:
        return -1
    return r.t_total - (r.t_handshake + max(r.t_idle, 0) + r.t_request + r.t_queue + r.t_connect + r.t_response)


def td_tcp(r: Any) -> int:
    """Td = Tt - (time from accept to connected).  HAProxy's TCP Tw carries a +1
    (its request date is unset, so Tw = queue time - (-1)): remove it again."""
    if r.t_connect < 0:
        return -1
    return r.t_total - (r.t_queue - 1 + r.t_connect)


def tu(r: Any) -> int:
    """Tu = Tt - Ti (the time the user saw)."""
    return r.t_total - max(r.t_idle, 0)


def ta(r: Any) -> int:
    """Ta as recorded, else HAProxy's Tt - (Th + Ti)."""
    if r.t_active >= 0:
        return r.t_active
    return r.t_total - (r.t_handshake + r.t_idle if r.t_idle >= 0 else 0)


def _derived_part(alias: Alias, opts: int, mode: str) -> Part:
    if alias.name == "Td":
        return Part("_td_http(r)" if mode == "http" else "_td_tcp(r)")
    return Part({"Tq": "_tq(r)", "Tu": "_tu(r)", "Ta": "_ta(r)"}[alias.name])


# -- outcome -------------------------------------------------------------------------------------


def retries(r: Any) -> str:
    """%rc: retries, with a '+' when the stream was redispatched."""
    return f"+{r.retries}" if r.redispatched else str(r.retries)


def _status_part(alias: Alias, opts: int, mode: str) -> Part:
    # A TCP stream has no HTTP transaction: HAProxy prints 0.
    return Part("r.status" if mode == "http" else "(r.status if r.status >= 0 else 0)")


def _tsc_part(alias: Alias, opts: int, mode: str) -> Part:
    # Cookie states exist only with an HTTP transaction: TCP prints '--'.
    return Part("(r.term_state + r.cookie_flags)" if mode == "http" else "(r.term_state + _DD)")


# -- captures and the request line ---------------------------------------------------------------


def _string_list(values: Any) -> list[str]:
    return [v.decode("latin-1") if v.__class__ is bytes else (v or "") for v in values]


def _hdrs_part(alias: Alias, opts: int) -> Part:
    quote, escape = bool(opts & OPT_QUOTE), bool(opts & OPT_ESC)

    def captures(values: Any) -> str:
        if values is None:  # no capture configured: nothing, not even braces
            return ""
        if len(values) == 1 and values[0].__class__ is str and not escape:  # the usual single capture
            inner = encode_header(values[0])
        else:
            encoded = [encode_header(v) for v in _string_list(values)]
            inner = "|".join([escape_rfc5424(v) for v in encoded] if escape else encoded)
        return f'"{{{inner}}}"' if quote else f"{{{inner}}}"

    return Part(f"{{p}}caps(r.{alias.field})", {"caps": captures}, maybe_empty=True)


def _hdrlist_part(alias: Alias, opts: int) -> Part:
    quote, escape = bool(opts & OPT_QUOTE), bool(opts & OPT_ESC)

    def item(value: str) -> str:
        if not value:
            return '""' if quote else "-"
        value = encode_header(value)
        value = escape_rfc5424(value) if escape else value
        return f'"{value}"' if quote else value

    def captures(values: Any) -> str:
        return "" if values is None else " ".join(item(v) for v in _string_list(values))

    return Part(f"{{p}}caps(r.{alias.field})", {"caps": captures}, maybe_empty=True)


def request_line(r: Any) -> str | None:
    """The request line as received, or rebuilt from its parts, or None."""
    line = r.request_line
    if line:
        return line.decode("latin-1") if isinstance(line, bytes) else line
    if r.method:
        return f"{r.method} {r.uri} {r.http_version}"
    return None


def _wrap(opts: int) -> Callable[[str], str]:
    quote, escape = bool(opts & OPT_QUOTE), bool(opts & OPT_ESC)

    def wrap(text: str) -> str:
        text = encode_url(text)
        if escape:
            text = escape_rfc5424(text)
        return f'"{text}"' if quote else text

    return wrap


def _request_part(alias: Alias, opts: int) -> Part:
    wrap = _wrap(opts)
    return Part("{p}req(_request_line(r) or _BADREQ)", {"req": wrap})


def _reqpart_part(alias: Alias, opts: int) -> Part:
    wrap, extract = _wrap(opts), PARTS[alias.field]
    return Part("{p}part(_request_line(r))", {"part": lambda line: wrap(extract(line))})


_ALWAYS_SET = ("name", "backend", "server", "ft")  # kinds that never print '-'


def _name_part(alias: Alias, opts: int) -> Part:
    value = {"name": "r.frontend", "backend": "(r.backend or r.frontend)", "server": "(r.server or _NOSRV)",
             "hostname": "c.hostname", "text": f"r.{alias.field}", "none": "None",
             "ft": "(r.frontend + _TILDE if r.frontend_ssl else r.frontend)"}[alias.kind]
    if opts == OPT_MANDATORY and alias.kind in _ALWAYS_SET:
        return Part(value)
    return _text_part(value, opts)


_FACTORIES: dict[str, Callable[..., Part]] = {
    "ip": _ip_part, "port": _port_part, "counter": _counter_part, "epoch": _epoch_part,
    "millis": _millis_part, "date_ms": _date_part, "date_gmt": _date_part, "date_local": _date_part,
    "int": lambda a, o: Part(f"r.{a.field}"), "ts": lambda a, o: Part("r.term_state"), "rc": lambda a, o: Part("_rc(r)"),
    "hdrs": _hdrs_part, "hdrlist": _hdrlist_part, "request": _request_part, "reqpart": _reqpart_part,
    "name": _name_part, "backend": _name_part, "server": _name_part, "hostname": _name_part,
    "text": _name_part, "none": _name_part, "ft": _name_part,
}  # fmt: skip
_MODE_FACTORIES: dict[str, Callable[..., Part]] = {"derived": _derived_part, "status": _status_part, "tsc": _tsc_part}


def render_part(alias: Alias, opts: int, mode: str) -> Part:
    """The Part for `alias` with flags `opts` in a proxy of `mode` ("tcp" | "http")."""
    if alias.kind in _MODE_FACTORIES:
        return _MODE_FACTORIES[alias.kind](alias, opts, mode)
    return _FACTORIES[alias.kind](alias, opts)


# Names every generated renderer can use (lb.logs.logformat binds them).
NAMESPACE: dict[str, Any] = {
    "_DASH": "-", "_E": "", "_SP": " ", "_DD": "--", "_TILDE": "~", "_NOSRV": "<NOSRV>", "_BADREQ": "<BADREQ>",
    "_epoch": _epoch, "_request_date": request_date, "_request_line": request_line, "_rc": retries,
    "_tq": tq, "_td_http": td_http, "_td_tcp": td_tcp, "_tu": tu, "_ta": ta,
}  # fmt: skip
