"""Sample fetches on stick tables: sc_*, sc0_* .. sc2_*, src_*, table_* (worker; compiled in master, cli).

Registered into lb.rules.fetches.FETCHES on import, usable wherever a
fetch is (ACLs, rule values, `%[...]`).  Semantics are HAProxy 2.6's
(src/stick_table.c):

- `sc<n>_<data>([table])` and `sc_<data>(<n>[,table])` read the entry the
  request (stream) or else the connection (session) tracks in counter n;
  with a table argument, the same key is looked up in that table;
- `src_<data>([table])` looks the client's address up (default: the
  table of the proxy the fetch is written in); an unknown address reads 0;
- no tracked entry: no sample; an entry whose table does not store the
  data: no sample; a table argument whose key is absent: 0;
- `*_inc_gpc0/1` and `*_clr_gpc0/1` change the entry (src_ ones create it),
  `src_updt_conn_cnt` counts a connection; `table_cnt` / `table_avl` are
  the entries used / still free.

Table names in arguments are resolved once the whole configuration is
read (lb.sticktables.keywords), with HAProxy's messages for missing tables.
"""

from __future__ import annotations

from typing import Any, Callable

from lb.rules.fetches import FETCHES, USE_ANY, FetchDef, FetchError, _single
from lb.sticktables import clock, counters, fast
from lb.sticktables.keys import converter
from lb.sticktables.model import DATA_KIND, MAX_SESS_STKCTR
from lb.sticktables.refs import TableRef, table_ref

Locator = Callable[[Any], Any]  # txn -> None (no sample) | (table, None) | (table, (pos, claim))

# fetch suffix -> (data type read, how): "value" reads the data type, "kbytes" >> 10
READS = {
    "bytes_in_rate": "bytes_in_rate", "bytes_out_rate": "bytes_out_rate", "conn_cnt": "conn_cnt",
    "conn_cur": "conn_cur", "conn_rate": "conn_rate", "get_gpt0": "gpt0", "get_gpc0": "gpc0",
    "get_gpc1": "gpc1", "gpc0_rate": "gpc0_rate", "gpc1_rate": "gpc1_rate", "http_err_cnt": "http_err_cnt",
    "http_err_rate": "http_err_rate", "http_fail_cnt": "http_fail_cnt", "http_fail_rate": "http_fail_rate",
    "http_req_cnt": "http_req_cnt", "http_req_rate": "http_req_rate", "kbytes_in": "bytes_in_cnt",
    "kbytes_out": "bytes_out_cnt", "sess_cnt": "sess_cnt", "sess_rate": "sess_rate",
}  # fmt: skip
CHANGES = ("inc_gpc0", "inc_gpc1", "clr_gpc0", "clr_gpc1")
SC_ONLY = ("tracked", "trackers")


def _arg_error(name: str, text: str) -> FetchError:
    return FetchError(f"fetch method '{name}' : {text}")


def _check_args(name: str, args: list[str], types: tuple[str, ...], mandatory: int) -> None:
    """HAProxy's make_arg_list() messages for the argument counts and integers."""
    if len(args) < mandatory:
        raise _arg_error(name, f"expected type '{types[len(args)]}' at position {len(args) + 1}, but got nothing")
    if len(args) > len(types):
        rest = ",".join(args[len(types) :]) + ")"
        raise _arg_error(name, f"expected ')' before '{rest if not types else ',' + rest}'")
    for position, (arg, kind) in enumerate(zip(args, types, strict=False), start=1):
        if kind == "integer" and not _is_int(arg):
            raise _arg_error(name, f"failed to parse '{arg}' as type 'integer' at position {position}")


def _is_int(text: str) -> bool:
    return text.lstrip("+-").isdigit()


# -- locating the entry ----------------------------------------------------------------------


def _tracked(num: int) -> Callable[[Any], Any]:
    """The StkCtr of counter `num`: the request's, else the connection's."""

    def get(txn: Any) -> Any:
        ctrs = txn.stkctr
        if ctrs is not None and ctrs[num] is not None:
            return ctrs[num]
        ctrs = txn.facts.stkctr
        return ctrs[num] if ctrs is not None else None

    return get


def _sc_locator(num: int | None, alt: TableRef | None) -> Locator:
    if num is None or num >= MAX_SESS_STKCTR:
        return lambda txn: None
    tracked = _tracked(num)
    if alt is None:

        def own(txn: Any) -> Any:
            ctr = tracked(txn)
            return None if ctr is None else (ctr.table, (ctr.pos, ctr.claim))

        return own

    def other(txn: Any) -> Any:
        ctr = tracked(txn)
        if ctr is None:
            return None
        table = alt.table()
        return table, table.lookup(ctr.key, clock.now_ms())

    return other


def _tracked_value(num: int, data: str) -> Callable[[Any], Any]:
    """sc<n>_<data> on the tracked entry itself: the per-request path, in one function."""
    is_rate = DATA_KIND[data] == "frqp"

    def get(txn: Any) -> Any:
        ctrs = txn.stkctr
        ctr = ctrs[num] if ctrs is not None else None
        if ctr is None:
            ctrs = txn.facts.stkctr
            ctr = ctrs[num] if ctrs is not None else None
            if ctr is None:
                return None
        table = ctr.table
        if not is_rate:
            if data not in table.offsets:
                return None
            return table.value(ctr.pos, ctr.claim, data, clock.now_ms())
        spec = table.rate_specs.get(data)
        if spec is None:
            return None
        offset, period = spec
        return fast.rate(table, ctr.pos, ctr.claim, offset, period, clock.now_ms())

    return get


def _src_locator(ref: TableRef) -> Locator:
    def get(txn: Any) -> Any:
        table = ref.table()
        key = ref.key_of(txn.facts.src)
        if key is None:
            return None
        return table, table.lookup(key, clock.now_ms())

    return get


def _src_create(ref: TableRef) -> Callable[[Any], Any]:
    """src_inc_gpc0 / src_clr_gpc0 create the entry (as a temporary tracker)."""

    def get(txn: Any) -> Any:
        key = ref.key_of(txn.facts.src)
        if key is None:
            return None
        table = ref.table()
        found = table.get_or_create(key, clock.now_ms(), counters.WRITER)
        return None if found is None else counters.StkCtr(table, found[0], found[1], key)

    return get


# -- what is read -------------------------------------------------------------------------


def _reader(data: str, kbytes: bool) -> Callable[[Any], Any]:
    if DATA_KIND[data] == "frqp":

        def read_rate(located: Any) -> Any:
            if located is None:
                return None
            table, ref = located
            if ref is None:
                return 0
            offset = table.offsets.get(data)
            if offset is None:
                return None
            return fast.rate(table, ref[0], ref[1], offset, table.cfg.store[data], clock.now_ms())

        return read_rate

    def read(located: Any) -> Any:
        if located is None:
            return None
        table, ref = located
        if ref is None:
            return 0
        if data not in table.offsets:
            return None
        value = table.value(ref[0], ref[1], data, clock.now_ms())
        return value >> 10 if kbytes else value

    return read


def _value_fetch(locate: Locator, suffix: str) -> Callable[[Any], Any]:
    read = _reader(READS[suffix], suffix.startswith("kbytes"))
    return lambda txn: read(locate(txn))


def _change_fetch(locate: Locator, suffix: str, create: Callable[[Any], Any] | None) -> Callable[[Any], Any]:
    which = int(suffix[-1])
    change = counters.inc_gpc if suffix.startswith("inc") else counters.clear_gpc

    def get(txn: Any) -> Any:
        located = locate(txn)
        if located is None:
            return None
        table, ref = located
        if ref is None:
            ctr = create(txn) if create is not None else None
            if ctr is None:
                return 0
        else:
            ctr = counters.StkCtr(table, ref[0], ref[1], ())
        result = change(ctr, which, clock.now_ms())
        return result

    return get


def _tracking_fetch(locate: Locator, suffix: str) -> Callable[[Any], Any]:
    """sc*_tracked: whether the counter is tracked; sc*_trackers: how many sessions track its entry."""
    if suffix == "tracked":
        return lambda txn: locate(txn) is not None

    def trackers(txn: Any) -> Any:
        located = locate(txn)
        if located is None:
            return None
        table, ref = located
        return 0 if ref is None else table.refs(ref[0], ref[1])

    return trackers


# -- registration ----------------------------------------------------------------------------


def _register(name: str, type_: str, build: Callable[[list[str]], tuple[Any, Any]]) -> None:
    FETCHES[name] = FetchDef(name, type_, USE_ANY, build, 0, 99)


def _sc_builder(name: str, suffix: str, num: int | None) -> Callable[[list[str]], tuple[Any, Any]]:
    def build(args: list[str]) -> tuple[Any, Any]:
        if num is None:
            _check_args(name, args, ("integer", "table"), 1)
            counter, rest = int(args[0]), args[1:]
        else:
            _check_args(name, args, ("table",), 0)
            counter, rest = num, args
        alt = table_ref(rest[0], name, 1 if num is not None else 2) if rest and rest[0] else None
        if alt is None and counter < MAX_SESS_STKCTR and suffix in READS and not suffix.startswith("kbytes"):
            return _single(_tracked_value(counter, READS[suffix]))
        locate = _sc_locator(counter, alt)
        if suffix in SC_ONLY:
            return _single(_tracking_fetch(locate, suffix))
        if suffix in CHANGES:
            return _single(_change_fetch(locate, suffix, None))
        return _single(_value_fetch(locate, suffix))

    return build


def _src_builder(name: str, suffix: str) -> Callable[[list[str]], tuple[Any, Any]]:
    def build(args: list[str]) -> tuple[Any, Any]:
        _check_args(name, args, ("table",), 0)
        ref = table_ref(args[0] if args else "", name, 1)
        locate = _src_locator(ref)
        if suffix in CHANGES:
            return _single(_change_fetch(locate, suffix, _src_create(ref)))
        if suffix == "updt_conn_cnt":
            return _single(_updt_conn_cnt(ref))
        return _single(_value_fetch(locate, suffix))

    return build


def _updt_conn_cnt(ref: TableRef) -> Callable[[Any], Any]:
    def get(txn: Any) -> Any:
        key = ref.key_of(txn.facts.src)
        if key is None:
            return None
        table, now = ref.table(), clock.now_ms()
        found = table.get_or_create(key, now, counters.WRITER)
        if found is None or "conn_cnt" not in table.offsets:
            return None
        table.add(found[0], found[1], counters.WRITER, "conn_cnt", 1, now)
        table.touch(found[0], found[1], counters.WRITER, now)
        return table.value(found[0], found[1], "conn_cnt", now)

    return get


def _table_builder(name: str) -> Callable[[list[str]], tuple[Any, Any]]:
    def build(args: list[str]) -> tuple[Any, Any]:
        _check_args(name, args, ("table",), 0)
        ref = table_ref(args[0] if args else "", name, 1)
        if name == "table_cnt":
            return _single(lambda txn: ref.table().count())
        return _single(lambda txn: max(ref.table().cfg.size - ref.table().count(), 0))

    return build


def register() -> None:
    for suffix in (*READS, *CHANGES, *SC_ONLY):
        type_ = "bool" if suffix == "tracked" else "int"
        _register(f"sc_{suffix}", type_, _sc_builder(f"sc_{suffix}", suffix, None))
        for num in range(MAX_SESS_STKCTR):
            _register(f"sc{num}_{suffix}", type_, _sc_builder(f"sc{num}_{suffix}", suffix, num))
        if suffix not in SC_ONLY:
            _register(f"src_{suffix}", "int", _src_builder(f"src_{suffix}", suffix))
    _register("src_updt_conn_cnt", "int", _src_builder("src_updt_conn_cnt", "updt_conn_cnt"))
    for name in ("table_cnt", "table_avl"):
        _register(name, "int", _table_builder(name))


register()
__all__ = ["register", "converter"]
