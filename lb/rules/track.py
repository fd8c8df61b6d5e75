"""Stick-counter actions of every rule set: track-sc<n>, sc-inc-gpc0/1, sc-set-gpt0 (worker; parsed in master, cli).

    track-sc<n> <expr> [table <t>]        (tcp-request connection|session|content, http-request, http-response)
    sc-inc-gpc0[(<n>)]  sc-inc-gpc1[(<n>)]  sc-set-gpt0[(<n>)] <int|expr>

`track-sc<n>` in `tcp-request connection|session` rules tracks for the
whole connection (ConnFacts.stkctr); in `tcp-request content`,
`http-request` and `http-response` rules, for the request or the TCP
stream (Txn.stkctr).  A counter already tracked is left alone, as in
HAProxy.  Tracking an HTTP request also counts it (http_req_cnt/rate),
and in `http-response` a 4xx/5xx status already happened (http_err /
http_fail), as HAProxy's http_action_track_sc() does.

Parse errors are HAProxy 2.6's texts (without the rule context the caller
adds).  Tables are resolved after parsing (`TrackSc.resolve`, HAProxy's
check_trk_action()).
"""

from __future__ import annotations

from typing import Any

from lb.rules.fetches import USE_RES, Fetch, FetchError
from lb.rules.sample import compile_sample
from lb.sticktables import clock, counters, fast
from lb.sticktables.keys import compatible, converter
from lb.sticktables.model import MAX_SESS_STKCTR
from lb.sticktables.refs import Site, TableRef, current_site

YIELD = object()  # a content rule's key may still change: wait for more data


class ActionError(ValueError):
    """Wrong arguments; the text is HAProxy's."""


def parse_track_num(action: str) -> int:
    """`track-sc<n>` -> n, HAProxy's cfg_parse_track_sc_num() messages."""
    text = action[len("track-sc") :]
    if not text.isdigit():
        raise ActionError(f"Wrong track-sc number '{text}'")
    num = int(text)
    if num >= MAX_SESS_STKCTR:
        raise ActionError(f"{num} track-sc number exceeding {MAX_SESS_STKCTR - 1} (MAX_SESS_STKCTR-1) value")
    return num


SOURCES = {USE_RES: "HTTP response"}


class TrackSc:
    """`track-sc<n> <expr> [table <t>]`."""

    __slots__ = ("num", "fetch", "ref", "session_level", "response", "from_backend", "proxy_name", "key_of",
                 "src_ip", "flags")  # fmt: skip

    def __init__(self, num: int, fetch: Fetch, ref: TableRef, session_level: bool, response: bool) -> None:
        self.num, self.fetch, self.ref = num, fetch, ref
        self.session_level, self.response = session_level, response
        self.from_backend = False
        self.proxy_name = ""
        self.key_of: Any = None
        self.src_ip = False  # the key is the client's IPv4 address as is: read it without the generic cast
        self.flags = 0 if session_level else counters.TRACK_CONTENT

    def resolve(self, tables: dict[str, Any], proxy: Any) -> str | None:
        """HAProxy's check_trk_action(): the table exists and takes this key type."""
        name = self.ref.name or proxy.name
        cfg = tables.get(name)
        if cfg is None:
            return f"unable to find table '{name}' referenced by track-sc{self.num}"
        if not compatible(self.fetch.type, cfg.key_type):
            return f"stick-table '{name}' uses a type incompatible with the 'track-sc{self.num}' rule"
        self.ref.bind(cfg)
        self.key_of = converter(cfg.key_type, cfg.key_size)
        self.src_ip = self.fetch.name == "src" and self.fetch.type == "ip" and cfg.key_type == "ip"
        self.from_backend = not proxy.is_frontend  # runs with a backend other than the frontend
        self.proxy_name = proxy.name
        if self.from_backend:
            self.flags |= counters.TRACK_BACKEND
        return None

    def __call__(self, txn: Any) -> Any:
        num = self.num
        holder = txn.facts if self.session_level else txn
        ctrs = holder.stkctr
        if ctrs is None:
            ctrs = holder.stkctr = [None, None, None]
        elif ctrs[num] is not None:
            return None
        if self.src_ip:
            src = txn.facts.src
            if src is None or src.v4 is None:
                return None
            key: Any = (src.v4,)
        else:
            content = txn.content
            if content is not None:
                content.missing = False
            key = self.key_of(self.fetch.one(txn))
            if key is None:
                return YIELD if content is not None and content.missing else None
        table = self.ref.table()
        http = txn.request is not None and not self.session_level
        now = clock.now_ms()
        event = "track_http" if http else "track"
        if table.kw == 1:  # the usual case, without the generic call
            plan = table.plans.get(event) or fast.plan(table, event)
            ref = fast.track1(table, key[0], now, counters.WRITER, plan)
            ctr = None if ref is None else counters.StkCtr(table, ref[0], ref[1], key, self.flags)
        else:
            ctr = counters.track(table, key, self.flags, now, event)
        if ctr is None:
            return None
        ctrs[num] = ctr
        if http and self.response:
            status = txn.response.status if txn.response is not None else 0
            if 400 <= status < 500:
                counters.http_error(ctr, now)
            elif 500 <= status < 600 and status not in (501, 505):
                counters.http_failure(ctr, now)
        return None


def tracked(txn: Any, num: int) -> Any:
    """The StkCtr of counter `num`: the request's, else the connection's (HAProxy's order)."""
    ctrs = txn.stkctr
    if ctrs is not None and ctrs[num] is not None:
        return ctrs[num]
    ctrs = txn.facts.stkctr
    return ctrs[num] if ctrs is not None else None


class IncGpc:
    """`sc-inc-gpc0[(n)]` / `sc-inc-gpc1[(n)]`."""

    __slots__ = ("which", "num")

    def __init__(self, which: int, num: int) -> None:
        self.which, self.num = which, num

    def __call__(self, txn: Any) -> Any:
        ctr = tracked(txn, self.num)
        if ctr is not None:
            counters.inc_gpc(ctr, self.which, clock.now_ms())
        return None


class SetGpt0:
    """`sc-set-gpt0[(n)] <int|expr>`."""

    __slots__ = ("num", "value", "fetch")

    def __init__(self, num: int, value: int, fetch: Fetch | None) -> None:
        self.num, self.value, self.fetch = num, value, fetch

    def __call__(self, txn: Any) -> Any:
        ctr = tracked(txn, self.num)
        if ctr is None:
            return None
        value = self.value
        if self.fetch is not None:
            sample = self.fetch.one(txn)
            if sample is None:
                return None
            try:
                value = int(sample)
            except (TypeError, ValueError):
                return None
        counters.set_gpt0(ctr, value, clock.now_ms())
        return None


# -- parsing ---------------------------------------------------------------------------------


def parse_track(action: str, args: list[str], direction: int, session_level: bool,
                response: bool = False) -> tuple[TrackSc, list[str]]:  # fmt: skip
    """`track-sc<n> <expr> [table <t>]` -> (action, the words after it)."""
    num = parse_track_num(action)
    if not args or args[0] in ("", "if", "unless"):
        raise ActionError("missing fetch method")
    try:
        fetch = compile_sample(args[0], direction)
    except FetchError as exc:
        raise ActionError(str(exc)) from None
    if not fetch.use & direction:
        raise ActionError(f"fetch method '{args[0].partition('(')[0]}' extracts information from "
                          f"'{SOURCES.get(fetch.use, 'HTTP request')}', none of which is available here")  # fmt: skip
    rest, name = args[1:], ""
    if rest and rest[0] == "table":
        if len(rest) < 2 or not rest[1]:
            raise ActionError("missing table name")
        name, rest = rest[1], rest[2:]
    site = current_site()
    ref = TableRef(name, action, 0, Site(site.config, site.proxy, site.loc, False, site.where))
    return TrackSc(num, fetch, ref, session_level, response), rest


def parse_inc_gpc(action: str) -> IncGpc:
    """`sc-inc-gpc0`, `sc-inc-gpc1(2)`...: HAProxy's parse_inc_gpc() messages."""
    tail = action[len("sc-inc-gpc") :]
    if tail[:1] not in ("0", "1"):
        if tail.startswith("("):
            raise ActionError("sc-inc-gpc(<GPC ID>,<Track ID>) (an array of counters) is not supported by lb")
        raise ActionError(f"invalid gpc ID '{action}'. Expects sc-inc-gpc(<GPC ID>,<Track ID>)")
    return IncGpc(int(tail[0]), _track_id(action, tail[1:], quote=False))


def parse_set_gpt(action: str, args: list[str], direction: int) -> tuple[SetGpt0, list[str]]:
    """`sc-set-gpt0[(n)] <int|expr>`: HAProxy's parse_set_gpt() messages."""
    tail = action[len("sc-set-gpt") :]
    if tail[:1] != "0":
        if tail.startswith("("):
            raise ActionError("sc-set-gpt(<GPT ID>,<Track ID>) (an array of tags) is not supported by lb")
        raise ActionError(f"invalid gpt ID '{action}'. Expects sc-set-gpt(<GPT ID>,<Track ID>)")
    num = _track_id(action, tail[1:], quote=True)
    word = args[0] if args else ""
    number = _strtol(word)
    if number is not None:
        return SetGpt0(num, number, None), args[1:]
    try:
        fetch = compile_sample(word, direction)
    except FetchError as exc:
        raise ActionError(str(exc)) from None
    return SetGpt0(num, 0, fetch), args[1:]


def _track_id(action: str, tail: str, quote: bool) -> int:
    """The `(<n>)` after sc-inc-gpc0 / sc-set-gpt0 (default 0)."""
    if not tail:
        return 0
    named = f" '{action}'" if quote else ""
    expects = f"Expects {action}(<Track ID>)" if not quote else "Expects sc-set-gpt0(<Track ID>)"
    if not tail.startswith("("):
        raise ActionError(f"invalid stick table track ID{named}. {expects}")
    inner, close = _leading_int(tail[1:])
    if inner is None or inner < 0 or close != ")":
        raise ActionError(f"invalid stick table track ID{named}. {expects}")
    if inner >= MAX_SESS_STKCTR:
        raise ActionError(f"invalid stick table track ID{named}. The max allowed ID is {MAX_SESS_STKCTR - 1}")
    return inner


def _leading_int(text: str) -> tuple[int | None, str]:
    """strtol(): the number at the start of `text` (0 when none) and the character after it."""
    body = text.lstrip(" \t")
    sign = 1
    if body[:1] in "+-" and body[:1]:
        sign, body = (-1 if body[0] == "-" else 1), body[1:]
    digits = ""
    while body[len(digits) : len(digits) + 1].isdigit():
        digits += body[len(digits)]
    if not digits:
        return 0, text[:1]
    return sign * int(digits), body[len(digits) : len(digits) + 1]


def _strtol(word: str) -> int | None:
    """The word as a whole decimal number (strtol consuming it all), else None."""
    value, after = _leading_int(word)
    if after:
        return None
    return value
