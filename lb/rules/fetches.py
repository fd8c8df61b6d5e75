"""Sample fetches: the values ACLs match and rule values print (worker; compiled in master, cli).

Each fetch is built once per use at config load into a `Fetch` holding two
closures over a Txn: `one(txn)` is the sample (what `%[hdr(host)]` prints:
HAProxy's fetch semantics, e.g. the last occurrence) and `all(txn)` every
value an ACL tries (e.g. every comma-separated value of every occurrence).
Both return None / an empty sequence when the sample is absent.

In mode tcp the Txn has no request (`txn.request` is None): HTTP fetches
then find no sample, as in HAProxy when the buffer holds no HTTP request.

Types: "str", "int", "bool", "ip" (lb.rules.addr.Ip), "meth" (the method
string, matched by ACL `method`), "any" (variables).  `use` says in which
rule direction a fetch can work (HAProxy warns when an ACL cannot match in
the rule it is used in).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

from lb.rules.addr import parse_ip
from lb.rules.message import pick_occurrence, split_values

USE_REQ, USE_RES, USE_ANY = 1, 2, 3
One = Callable[[Any], Any]
All = Callable[[Any], Sequence[Any]]
Builder = Callable[[list[str]], tuple[One, All]]

VAR_SCOPES = ("proc", "sess", "txn", "req", "res")
VAR_NAME_ERROR = ("invalid variable name '{}'. A variable name must be start by its scope. "
                  "The scope can be 'proc', 'sess', 'txn', 'req', 'res' or 'check'")  # fmt: skip


class FetchError(ValueError):
    """A fetch name or argument is wrong; the text is HAProxy's, without context."""


@dataclass(frozen=True)
class FetchDef:
    name: str
    type: str
    use: int
    build: Builder
    min_args: int = 0
    max_args: int = 0


@dataclass(frozen=True)
class Fetch:
    """A compiled fetch (with its converters applied)."""

    name: str
    type: str
    use: int
    one: One
    all: All


FETCHES: dict[str, FetchDef] = {}


class BuildSite:
    """Where fetches are being compiled (master, cli): inside an ACL or a sample
    expression, which HAProxy's messages about unresolved arguments tell apart."""

    acl = False
    where = ""  # overrides the phrase derived from the directive ("in tracking rule in")


BUILD_SITE = BuildSite()


def fetch(name: str, type_: str, use: int = USE_REQ, args: tuple[int, int] = (0, 0), aliases: tuple[str, ...] = ()):
    def register(build: Builder) -> Builder:
        for each in (name, *aliases):
            FETCHES[each] = FetchDef(each, type_, use, build, *args)
        return build

    return register


def _single(get: One) -> tuple[One, All]:
    """A fetch with at most one value: `all` wraps `one`."""

    def every(txn: Any) -> Sequence[Any]:
        value = get(txn)
        return () if value is None else (value,)

    every.one = get  # type: ignore[attr-defined]  (lets ACL tests skip the tuple)
    return get, every


def _occ(args: list[str], position: int) -> int | None:
    if len(args) <= position or args[position] == "":
        return None
    try:
        return int(args[position])
    except ValueError:
        raise FetchError(f"failed to parse '{args[position]}' as type 'integer' at position {position + 1}") from None


# -- request line ---------------------------------------------------------------


@fetch("path", "str")
def _path(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: txn.request.path if txn.request is not None else None)


@fetch("pathq", "str")
def _pathq(args: list[str]) -> tuple[One, All]:
    def get(txn: Any) -> str | None:
        request = txn.request
        path = request.path if request is not None else None
        if path is None:
            return None
        return path if request.query is None else f"{path}?{request.query}"

    return _single(get)


@fetch("url", "str")
def _url(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: txn.request.uri if txn.request is not None else None)


@fetch("query", "str")
def _query(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: txn.request.query if txn.request is not None else None)


@fetch("method", "meth")
def _method(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: txn.request.method if txn.request is not None else None)


@fetch("req.ver", "str", aliases=("req_ver",))
def _req_ver(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: txn.request.version if txn.request is not None else None)


@fetch("base", "str")
def _base(args: list[str]) -> tuple[One, All]:
    def get(txn: Any) -> str | None:
        if txn.request is None:
            return None
        host, path = txn.request.first("host"), txn.request.path
        return None if host is None or path is None else host + path

    return _single(get)


@fetch("url_param", "str", args=(0, 3), aliases=("urlp",))
def _url_param(args: list[str]) -> tuple[One, All]:
    name = args[0] if args else ""
    delims = args[1] if len(args) > 1 and args[1] else "&"
    icase = len(args) > 2 and args[2] == "i"
    key = name.lower() if icase else name

    def every(txn: Any) -> list[str]:
        query = txn.request.query if txn.request is not None else None
        if not query:
            return []
        parts = [query] if len(delims) == 1 and delims not in query else _split_any(query, delims)
        found = []
        for part in parts:
            pname, eq, value = part.partition("=")
            if eq and (not name or (pname.lower() if icase else pname) == key):
                found.append(value)
        return found

    def first(txn: Any) -> str | None:
        values = every(txn)
        return values[0] if values else None

    return first, every


def _split_any(text: str, delims: str) -> list[str]:
    for delim in delims[1:]:
        text = text.replace(delim, delims[0])
    return text.split(delims[0])


# -- headers ------------------------------------------------------------------------


def _message(direction: int) -> One:
    if direction == USE_RES:
        return lambda txn: txn.response
    return lambda txn: txn.request


def _hdr(direction: int) -> Builder:
    def build(args: list[str]) -> tuple[One, All]:
        msg, name, occ = _message(direction), (args[0] if args else ""), _occ(args, 1)

        def every(txn: Any) -> list[str]:
            message = msg(txn)
            if message is None:
                return []
            if not name:
                return [v for _n, full in message.headers for v in split_values(full)]
            values = message.values(name)
            if occ is None:
                return values
            picked = pick_occurrence(values, occ)
            return [] if picked is None else [picked]

        def one(txn: Any) -> str | None:
            message = msg(txn)
            if message is None:
                return None
            if name and occ is None:
                return message.header(name)
            return pick_occurrence(every(txn), -1)

        return one, every

    return build


def _fhdr(direction: int) -> Builder:
    def build(args: list[str]) -> tuple[One, All]:
        msg, name, occ = _message(direction), args[0], _occ(args, 1)

        def every(txn: Any) -> list[str]:
            message = msg(txn)
            if message is None:
                return []
            values = message.get_all(name)
            if occ is None:
                return values
            picked = pick_occurrence(values, occ)
            return [] if picked is None else [picked]

        return (lambda txn: pick_occurrence(every(txn), -1)), every

    return build


def _count(direction: int, full: bool) -> Builder:
    def build(args: list[str]) -> tuple[One, All]:
        msg, name = _message(direction), (args[0] if args else "")

        def get(txn: Any) -> int | None:
            message = msg(txn)
            if message is None:
                return None
            if full:
                return len(message.get_all(name)) if name else len(message.headers)
            if name:
                return len(message.values(name))
            return sum(len(split_values(v)) for _n, v in message.headers)

        return _single(get)

    return build


def _converted(build: Builder, convert: Callable[[str], Any]) -> Builder:
    """A header fetch whose values are converted (hdr_val, hdr_ip); bad values are dropped."""

    def wrapped(args: list[str]) -> tuple[One, All]:
        _one, every = build(args)

        def all_converted(txn: Any) -> list[Any]:
            return [c for c in map(convert, every(txn)) if c is not None]

        def one(txn: Any) -> Any:
            values = every(txn)
            return convert(values[-1]) if values else None

        return one, all_converted

    return wrapped


def to_int(text: str) -> int | None:
    """HAProxy's strl2ic on a header value: an optional sign and digits."""
    try:
        return int(text.strip(" \t"))
    except ValueError:
        return None


def to_ip(text: str) -> Any:
    """A header value as an address; an IPv4 address may carry a `:port`."""
    text = text.strip(" \t")
    if text.count(":") == 1:
        text = text.partition(":")[0]
    return parse_ip(text)


for _dir, _prefix in ((USE_REQ, "req."), (USE_RES, "res.")):
    _aliases = ("hdr",) if _dir == USE_REQ else ("shdr",)
    FETCHES[f"{_prefix}hdr"] = FetchDef(f"{_prefix}hdr", "str", _dir, _hdr(_dir), 0, 2)
    FETCHES[f"{_prefix}fhdr"] = FetchDef(f"{_prefix}fhdr", "str", _dir, _fhdr(_dir), 1, 2)
    FETCHES[f"{_prefix}hdr_cnt"] = FetchDef(f"{_prefix}hdr_cnt", "int", _dir, _count(_dir, False), 0, 1)
    FETCHES[f"{_prefix}fhdr_cnt"] = FetchDef(f"{_prefix}fhdr_cnt", "int", _dir, _count(_dir, True), 0, 1)
    FETCHES[f"{_prefix}hdr_val"] = FetchDef(f"{_prefix}hdr_val", "int", _dir, _converted(_hdr(_dir), to_int), 0, 2)
    FETCHES[f"{_prefix}hdr_ip"] = FetchDef(f"{_prefix}hdr_ip", "ip", _dir, _converted(_hdr(_dir), to_ip), 0, 2)
# In rule values of http-response rules `hdr` reads the response (lb.rules.sample).
FETCHES["hdr"] = FetchDef("hdr", "str", USE_REQ, _hdr(USE_REQ), 0, 2)
for _old in ("hdr_cnt", "hdr_val", "hdr_ip"):
    FETCHES[_old] = FETCHES[f"req.{_old}"]


def _response_field(field: str) -> Builder:
    def build(args: list[str]) -> tuple[One, All]:
        return _single(lambda txn: getattr(txn.response, field) if txn.response is not None else None)

    return build


FETCHES["res.ver"] = FetchDef("res.ver", "str", USE_RES, _response_field("version"))
FETCHES["status"] = FetchDef("status", "int", USE_RES, _response_field("status"))
