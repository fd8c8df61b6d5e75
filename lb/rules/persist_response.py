"""Cookie persistence on responses: the server's Set-Cookie and the inserted one (worker).

`response_cookie()` follows HAProxy 2.6's http_process_res_common() after
the http-response rules: first the server's own Set-Cookie for the
persistence name (http_manage_server_side_cookies: kept with `preserve`,
removed in insert mode or for an indirect client that came with a valid
cookie, value replaced in rewrite mode, prefixed with `SRV~` in prefix
mode), then the cookie lb inserts, appended after every other header:

    set-cookie: SRVID=app01; path=/[; domain=D]*[; HttpOnly][; Secure][; attr]*

with `|<last>[|<first>]` date fields after the value when maxidle/maxlife
are set, and `Expires=Thu, 01-Jan-1970 00:00:01 GMT` for a server without
a cookie value.  With `nocache`, `cache-control: private` follows when the
response is cacheable by HAProxy's rules (recorded against 2.6.12: GET,
HEAD, OPTIONS or TRACE; status 200 203 204 206 300 301 404 405 410 414 501
or `Cache-Control: public`; and a freshness or validator header).

Server cookie flag (4th character of %tsc): N none, P passed through, D
deleted, R rewritten/prefixed, I inserted, U date updated.
"""

from __future__ import annotations

from typing import Any

from lb.rules.message import split_values
from lb.rules.persist import COOKIE_DELIM, COOKIE_DELIM_DATE, SPHT, CookieTxn, cookie_value_end, s30tob64

_CACHEABLE_STATUS = frozenset((200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501))
_SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS", "TRACE"))
_NOT_CACHEABLE = frozenset(("private", "no-cache", "no-store", "max-age=0", "s-maxage=0"))


def response_cookie(cfg: Any, state: CookieTxn, response: Any, server: Any, method: str, now: int) -> None:
    """Apply the backend's cookie settings to `response`; update state.server_flag."""
    if response.status < 200 and response.status != 101:
        return
    _server_cookies(cfg, state, response, server)
    if not _must_insert(cfg, state, server, method, now):
        return
    response.add_header("Set-Cookie", _cookie_value(cfg, state, server, now))
    state.server_flag = "U" if server.cookie and state.direct else "I"
    if cfg.nocache and is_cacheable(method, response):
        response.add_header("Cache-control", "private")


def _must_insert(cfg: Any, state: CookieTxn, server: Any, method: str, now: int) -> bool:
    if server is None or cfg.mode != "insert":
        return False
    if state.server_flag == "P" and cfg.preserve:
        return False
    if cfg.postonly and method != "POST":
        return False
    last, first = state.last_date, state.first_date
    return (not state.direct
            or ((cfg.maxidle or last) and (not last or last < now))
            or (cfg.maxlife and not first)
            or (not cfg.maxlife and first))  # fmt: skip


def _cookie_value(cfg: Any, state: CookieTxn, server: Any, now: int) -> str:
    if not server.cookie:
        return f"{cfg.name}=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/{cfg.attributes}"
    value = f"{cfg.name}={server.cookie}"
    if cfg.maxidle or cfg.maxlife:
        value += COOKIE_DELIM_DATE + s30tob64((now + 3) >> 2)
        if cfg.maxlife:
            first = state.first_date >> 2 if state.first_date else (now + 3) >> 2
            value += COOKIE_DELIM_DATE + s30tob64(first)
    return f"{value}; path=/{cfg.attributes}"


def _server_cookies(cfg: Any, state: CookieTxn, response: Any, server: Any) -> None:
    headers = response.headers
    i = 0
    while i < len(headers):
        name, value = headers[i]
        if len(name) != 10 or name.lower() != "set-cookie":
            i += 1
            continue
        parsed = _first_cookie(value)
        if parsed is None:
            i += 1
            continue
        value, att_beg, att_end, val_beg, val_end = parsed
        headers[i] = (name, value)
        if value[att_beg:att_end] != cfg.name:
            i += 1
            continue
        state.server_flag = "P"
        if cfg.preserve:
            pass
        elif (server is not None and cfg.mode == "insert") or (state.direct and cfg.indirect):
            del headers[i]
            state.server_flag = "D"
            continue
        elif server is not None and server.cookie and cfg.mode == "rewrite":
            headers[i] = (name, value[:val_beg] + server.cookie + value[val_end:])
            state.server_flag = "R"
        elif server is not None and server.cookie and cfg.mode == "prefix":
            headers[i] = (name, value[:val_beg] + server.cookie + COOKIE_DELIM + value[val_beg:])
            state.server_flag = "R"
        i += 1


def _first_cookie(value: str) -> tuple[str, int, int, int, int] | None:
    """The first NAME=VALUE of a Set-Cookie value, blanks around `=` removed:
    (value, name start, name end, value start, value end), or None without `=`."""
    size, att_beg = len(value), 0
    while att_beg < size and value[att_beg] in SPHT:
        att_beg += 1
    equal = att_end = att_beg
    while equal < size and value[equal] not in "=;":
        equal += 1
        if value[equal - 1] not in SPHT:
            att_end = equal
    if equal >= size or value[equal] != "=":
        return None
    val_beg = equal + 1
    while val_beg < size and value[val_beg] in SPHT:
        val_beg += 1
    val_end = cookie_value_end(value, val_beg, len(value))
    while val_end > val_beg and value[val_end - 1] in SPHT:
        val_end -= 1
    if att_end != equal or val_beg > equal + 1:
        removed = (equal - att_end) + (val_beg - equal - 1)
        value = value[:att_end] + "=" + value[val_beg:]
        val_beg, val_end = att_end + 1, val_end - removed
        equal = att_end
    return value, att_beg, att_end, val_beg, val_end


def is_cacheable(method: str, response: Any) -> bool:
    """HAProxy 2.6's view of whether a response may be cached (TX_CACHEABLE), in one pass over the headers."""
    cacheable = method in _SAFE_METHODS and response.status in _CACHEABLE_STATUS
    fresh = validator = pragma_seen = False
    controls: list[str] = []
    for name, value in response.headers:
        key = name.lower()
        if key == "cache-control":
            controls.append(value)
        elif key == "pragma" and not pragma_seen:
            pragma_seen = True  # HAProxy looks at the first Pragma only
            if value.strip(" \t").lower() == "no-cache":
                return False
        elif key == "expires":
            fresh = True
        elif key in ("etag", "last-modified"):
            validator = True
    for value in controls:
        for part in split_values(value):
            low = part.lower()
            if low == "public":
                cacheable = True
            elif low in _NOT_CACHEABLE:
                cacheable = False
            elif low.startswith(("max-age", "s-maxage")):
                fresh = True
    return cacheable and (fresh or validator)
