"""The few sample fetches lb understands inside log-format `%[...]` (master compiles, worker runs).

HAProxy accepts any sample expression there; lb knows the fetches below,
each a function of the LogRecord.  A fetch HAProxy has and lb does not is
accepted with a warning and logs as absent (`-`), so an existing config
still loads; a name HAProxy does not know either is an error with HAProxy's
wording.  Converters (`%[src,hex]`) are lb.rules' (HAProxy's list).
A sample renders like HAProxy's lf_text: its string form, quoted with Q,
`-` when absent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from lb.logs.aliases import Part, request_line, text_renderer
from lb.logs.requestline import PARTS


@dataclass
class SampleExpr:
    text: str  # as written between the brackets
    fetch: str
    args: list[str] = field(default_factory=list)
    converters: list[str] = field(default_factory=list)


def _header(args: list[str]) -> Callable[[Any], Any]:
    wanted = (args[0] if args else "").lower()

    def fetch(r: Any) -> Any:
        # The last occurrence, as HAProxy's req.hdr() does for samples.
        found = None
        for name, value in r.request_headers or ():
            if isinstance(name, bytes):
                name, value = name.decode("latin-1"), value.decode("latin-1")
            if name.lower() == wanted:
                found = value
        return found

    return fetch


def _capture(attr: str, args: list[str]) -> Callable[[Any], Any]:
    index = int(args[0]) if args and args[0].isdigit() else 0

    def fetch(r: Any) -> Any:
        values = getattr(r, attr)
        return values[index] if values is not None and index < len(values) else None

    return fetch


def _request_part(part: str) -> Callable[[Any], Any]:
    extract = PARTS[part]
    return lambda r: extract(request_line(r)) if request_line(r) else None


def _integer(args: list[str]) -> int:
    text = args[0] if args else ""
    return int(text) if text.lstrip("+-").isdigit() else 0


def _constant(value: Any) -> Callable[[Any], Any]:
    return lambda r: value


# name -> (HTTP only, builder(args) -> fetch(record))
FETCHES: dict[str, tuple[bool, Callable[[list[str]], Callable[[Any], Any]]]] = {
    "src": (False, lambda a: lambda r: r.client_ip),
    "src_port": (False, lambda a: lambda r: r.client_port),
    "dst": (False, lambda a: lambda r: r.frontend_ip),
    "dst_port": (False, lambda a: lambda r: r.frontend_port),
    "fe_name": (False, lambda a: lambda r: r.frontend),
    "be_name": (False, lambda a: lambda r: r.backend or r.frontend),
    "srv_name": (False, lambda a: lambda r: r.server),
    "unique-id": (False, lambda a: lambda r: r.unique_id),
    "status": (True, lambda a: lambda r: r.status if r.status >= 0 else None),
    "txn.status": (True, lambda a: lambda r: r.status if r.status >= 0 else None),
    "method": (True, lambda a: _request_part("method")),
    "path": (True, lambda a: _request_part("path")),
    "query": (True, lambda a: _request_part("query")),
    "url": (True, lambda a: _request_part("uri")),
    "req.hdr": (True, _header), "hdr": (True, _header), "req.fhdr": (True, _header),
    "str": (False, lambda a: _constant(a[0] if a else "")),  # constants: usable in every context
    "int": (False, lambda a: _constant(_integer(a))),
    "bool": (False, lambda a: _constant(int(_integer(a) != 0))),
    "capture.req.hdr": (True, lambda a: _capture("captured_request_headers", a)),
    "capture.res.hdr": (True, lambda a: _capture("captured_response_headers", a)),
}

def _stick_counter(name: str) -> Callable[[list[str]], Callable[[Any], Any]]:
    """sc_*, sc0_* .. sc2_*, src_*, table_*: the rules engine's fetch, on the stream's Txn
    the engine leaves in the record (LogRecord.rules_txn; absent: '-')."""

    def build(args: list[str]) -> Callable[[Any], Any]:
        from lb.rules.sample import build_fetch

        one = build_fetch(name, args).one
        return lambda r: one(r.rules_txn) if r.rules_txn is not None else None

    return build


def _register_stick_counters() -> None:
    from lb.rules.fetches import FETCHES as RULE_FETCHES
    import lb.sticktables.fetches  # noqa: F401  (registers them in the rules engine)

    for name in RULE_FETCHES:
        # 'src_port' also starts with 'src_': the record's own fields come first.
        if name.startswith(("sc_", "sc0_", "sc1_", "sc2_", "src_", "table_")) and name not in FETCHES:
            FETCHES[name] = (False, _stick_counter(name))


_register_stick_counters()

# HAProxy fetches often seen in log formats that lb cannot provide: a warning, not an error.
KNOWN_ELSEWHERE = frozenset((
    "ssl_fc", "ssl_fc_sni", "ssl_fc_err", "ssl_c_err", "ssl_c_ca_err", "ssl_fc_is_resumed", "ssl_fc_protocol",
    "ssl_fc_cipher", "ssl_c_s_dn", "ssl_c_i_dn", "ssl_c_used", "ssl_c_verify", "fc_err", "fc_err_str", "bc_err",
    "var", "req.cook", "cook", "res.cook", "res.hdr", "shdr", "res.fhdr", "capture.req.method", "capture.req.uri",
    "capture.req.ver", "capture.res.ver", "req.body", "sc_http_req_rate", "sc0_http_req_rate", "fc_rtt",
    "fc_rttvar", "be_id", "fe_id", "srv_id", "hostname", "env", "date", "uuid", "rand", "base", "http_first_req",
    "req.ver", "res.ver", "req_ver", "base32", "url_param", "urlp", "bc_src", "bc_src_port", "so_id", "ipv4",
    "always_true", "always_false", "nbproc", "proc", "thread", "pid",
))  # fmt: skip


class SampleError(ValueError):
    """An expression HAProxy would reject: the message is HAProxy's."""


def check(expr: SampleExpr, rest_of_format: str) -> list[str]:
    """Problems lb tolerates (warnings); SampleError for those HAProxy rejects."""
    notes = []
    if expr.fetch not in FETCHES:
        if expr.fetch not in KNOWN_ELSEWHERE:
            raise SampleError(f"failed to parse sample expression <{rest_of_format}> : "
                              f"unknown fetch method '{expr.fetch}'")
        notes.append(f"sample fetch '{expr.fetch}' is not supported by lb; it is logged as '-'")
    if expr.converters:
        from lb.rules.sample import FetchError, value_converters

        try:
            value_converters(expr.converters)
        except FetchError as exc:
            if not _haproxy_only(str(exc)):
                raise SampleError(f"failed to parse sample expression <{rest_of_format}> : {exc}") from None
            notes.append(f"{exc} in '%[{expr.text}]': HAProxy has it, lb does not; it is logged as '-'")
    return notes


def _haproxy_only(message: str) -> bool:
    from lb.rules.converters import HAPROXY_ONLY

    return message.startswith("unknown converter '") and message.split("'")[1] in HAPROXY_ONLY


def http_only(expr: SampleExpr) -> bool:
    return expr.fetch in FETCHES and FETCHES[expr.fetch][0]


def sample_part(expr: SampleExpr, opts: int) -> Part:
    """A Part writing the fetch's value with lf_text rules (flags M, Q, E)."""
    builder = FETCHES.get(expr.fetch)
    fetch = builder[1](expr.args) if builder else (lambda r: None)
    if expr.converters and builder:  # HAProxy's converters, lb.rules' implementation
        from lb.rules.sample import value_converters

        from lb.rules.fetches import FetchError

        try:
            from lb.rules.samptypes import to_text

            fetched, convert = fetch, value_converters(expr.converters)
            fetch = lambda r: (lambda v: to_text(v) if isinstance(v, (bool, bytes)) else v)(convert(fetched(r)))  # noqa: E731
        except FetchError:  # a converter lb lacks (noted at compile time): no sample
            fetch = lambda r: None  # noqa: E731
    text = text_renderer(opts)
    return Part("{p}sample(r)", {"sample": lambda r: text(fetch(r))})
