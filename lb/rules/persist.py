"""Cookie persistence per request: reading and stripping the client's cookie (worker).

`request_cookie()` is a close port of HAProxy's
http_manage_client_side_cookies(): every cookie of every Cookie header is
examined; the one named like the backend's cookie picks the first usable
server whose `cookie` value it carries (servers in declaration order, so
several servers may share a value); in insert+indirect mode it is removed
before the request reaches the server, in prefix mode its `SRV~` prefix
is.  Header surgery keeps HAProxy's exact delimiter handling (one `;`
and one space left between the remaining cookies, blanks around `=`
removed), so servers see the same bytes as behind HAProxy.

Log flags (3rd character of %tsc): N no cookie, I invalid, D names a DOWN
server, V valid, E expired (maxidle), O too old (maxlife), U present but
not used (a server was already assigned).  The response side, including
the 4th character, is lb.rules.persist_response.
"""

from __future__ import annotations

import re
from typing import Any, Callable

SPHT = " \t"
COOKIE_DELIM, COOKIE_DELIM_DATE = "~", "|"
B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_REV = {c: i for i, c in enumerate(B64)}
DAY = 86400


def s30tob64(value: int) -> str:
    """HAProxy's 5-character base64 of the low 30 bits of `value`."""
    return "".join(B64[(value >> shift) & 0x3F] for shift in (24, 18, 12, 6, 0))


def b64tos30(text: str) -> int:
    """Inverse of s30tob64; -1 when `text` does not start with 5 base64 characters."""
    if len(text) < 5:
        return -1
    out = 0
    for char in text[:5]:
        digit = _B64_REV.get(char)
        if digit is None:
            return -1
        out = (out << 6) + digit
    return out


class CookieTxn:
    """What the persistence cookie decided for one request, and its log flags."""

    __slots__ = ("client_flag", "server_flag", "server", "direct", "last_date", "first_date")

    def __init__(self) -> None:
        self.client_flag = "N"  # 3rd char of %tsc
        self.server_flag = "N"  # 4th char of %tsc
        self.server: Any = None  # the server the cookie selected (None: load-balance)
        self.direct = False  # HAProxy's SF_DIRECT: the client came with a valid cookie for `server`
        self.last_date = 0  # dates carried by the cookie (seconds, 4 s resolution)
        self.first_date = 0

    @property
    def flags(self) -> str:
        """The two cookie characters of %tsc."""
        return self.client_flag + self.server_flag

    def redispatched(self) -> None:
        """The engine gave up on the cookie's server (failed connect and
        redispatch): as HAProxy, a valid cookie becomes D and the response
        gets a new cookie."""
        if self.client_flag == "V":
            self.client_flag = "D"
        self.direct, self.server = False, None


def request_cookie(cfg: Any, request: Any, servers: list[Any], is_up: Callable[[Any], bool],
                   persist: bool = False, now: int = 0) -> CookieTxn:  # fmt: skip
    """Read the persistence cookie of `request`, edit its Cookie headers, pick the server.

    `cfg` is the backend's lb.rules.model.CookieConfig, `servers` its servers
    in declaration order, `persist` its `option persist`, `now` the wall
    clock in seconds (for maxidle/maxlife)."""
    state = CookieTxn()
    decide = _Decider(cfg, state, servers, is_up, persist, now)
    headers = request.headers
    i = 0
    while i < len(headers):
        name, value = headers[i]
        if len(name) == 6 and name.lower() == "cookie":
            if _SIMPLE.match(value):
                if cfg.name not in value:
                    i += 1
                    continue  # nothing of ours and nothing to normalize
                new_value = _simple_header(value, cfg, decide)
            else:
                new_value = _Scan(value, cfg, decide).run()
            if new_value is None:
                del headers[i]
                continue
            if new_value != value:
                headers[i] = (name, new_value)
        i += 1
    return state


def cookie_value_end(buf: "list[str] | str", start: int, end: int) -> int:
    """http_find_cookie_value_end(): the next `;` or `,` outside quotes (in a list of
    characters or a string) before `end`, else `end`."""
    quoted = qdpair = False
    while start < end:
        char = buf[start]
        if qdpair:
            qdpair = False
        elif quoted:
            qdpair, quoted = char == "\\", char != '"'
        elif char == '"':
            quoted = True
        elif char in ",;":
            return start
        start += 1
    return start


def delete_value(buf: list[str], start: int, end: int, from_: int, next_: int) -> tuple[int, int]:
    """http_del_hdr_value(): remove [from_, next_), keeping one delimiter and
    one space between what remains; return (delta, new from_)."""
    prev = from_
    if prev == start:
        if next_ < end:
            next_ += 1
        while next_ < end and buf[next_] in SPHT:
            next_ += 1
    else:
        while buf[prev - 1] in SPHT:
            prev -= 1
        from_ = prev
        if next_ < end:
            buf[prev] = buf[next_]
            prev, next_ = prev + 1, next_ + 1
            if prev + 1 < next_:
                buf[prev] = " "
                prev += 1
            while next_ < end and buf[next_] in SPHT:
                next_ += 1
    del buf[prev:next_]
    return prev - next_, from_


_NAME = r'[^\s;=,"$][^\s;=,"]*'
_VALUE = r'[^\s;,"]*'
_SIMPLE = re.compile(rf"{_NAME}={_VALUE}(?:; *{_NAME}={_VALUE})*\Z")


def _simple_header(value: str, cfg: Any, decide: "_Decider") -> str | None:
    """The result of _Scan for the usual `a=1; b=2` shape, without the
    character-by-character port: same bytes (kept separators stay as sent, a
    removed run leaves `; `), checked against _Scan by the unit tests."""
    out: list[str] = []
    removed = False  # our cookies were just removed: the next kept one joins with "; "
    for part in value.split(";"):
        text = part.lstrip(" ")
        name, _eq, val = text.partition("=")
        if name == cfg.name:
            delim = decide.server_part(val)
            if cfg.mode == "insert" and cfg.indirect:
                removed = True
                continue
            if cfg.mode == "prefix" and delim != len(val):
                text = f"{name}={val[delim + 1:]}"
                part = part[: len(part) - len(part.lstrip(" "))] + text
        if not out:
            out.append(text if removed else part)
        else:
            out.append("; " + text if removed else ";" + part)
        removed = False
    return "".join(out) if out else None


class _Decider:
    """Which server a persistence cookie value names, with HAProxy's flags and dates."""

    def __init__(self, cfg: Any, state: CookieTxn, servers: list[Any], is_up: Callable[[Any], bool],
                 persist: bool, now: int) -> None:  # fmt: skip
        self.cfg, self.state, self.servers = cfg, state, servers
        self.is_up, self.persist, self.now = is_up, persist, now

    def server_part(self, value: str) -> int:
        """Examine one value; return where its server part ends (0: nothing usable)."""
        state = self.state
        if self.cfg.mode == "prefix":
            delim = value.find(COOKIE_DELIM)
            delim = len(value) if delim < 0 else delim
        else:
            delim = self._dates(value)
        delim = self._expire(delim)
        server = None
        if delim and state.server is None:
            server = self._server(value[:delim])
        # HAProxy tests `flags & (TX_CK_DOWN|TX_CK_EXPIRED|TX_CK_OLD)`, which covers
        # every flag value: only a cookie seen first turns into I (or U).
        if server is None and state.client_flag == "N":
            state.client_flag = "U" if state.server is not None else "I"
        return delim

    def _dates(self, text: str) -> int:
        state = self.state
        bar = text.find(COOKIE_DELIM_DATE)
        if bar < 0:
            return len(text)
        if len(text) - (bar + 1) >= 5 and b64tos30(text[bar + 1 :]) > 0:
            state.last_date = b64tos30(text[bar + 1 :]) << 2
        second = text.find(COOKIE_DELIM_DATE, bar + 1)
        if second >= 0 and len(text) - second > 5 and b64tos30(text[second + 1 :]) > 0:
            state.first_date = b64tos30(text[second + 1 :]) << 2
        return bar

    def _expire(self, delim: int) -> int:
        cfg, state, now = self.cfg, self.state, self.now
        if state.first_date and cfg.maxlife and (now - state.first_date > cfg.maxlife
                                                 or state.first_date - now > DAY):  # fmt: skip
            state.client_flag, state.first_date, state.last_date = "O", 0, 0
            return 0
        if state.last_date and cfg.maxidle and (now - state.last_date > cfg.maxidle
                                                or state.last_date - now > DAY):  # fmt: skip
            state.client_flag, state.first_date, state.last_date = "E", 0, 0
            return 0
        return delim

    def _server(self, value: str) -> Any:
        state = self.state
        for server in self.servers:
            if server.cookie and server.cookie == value:
                up = self.is_up(server)
                if up or self.persist:
                    state.client_flag = "V" if up else "D"
                    state.server, state.direct = server, True
                    return server
                state.client_flag = "D"
        return None


class _Scan:
    """One Cookie header examined like HAProxy's C loop (its locals as fields)."""

    def __init__(self, value: str, cfg: Any, decide: _Decider) -> None:
        self.buf, self.cfg, self.decide = list(value), cfg, decide
        self.end = len(self.buf)
        self.del_from: int | None = None
        self.preserve = False

    def run(self) -> str | None:
        """The new header value, or None to remove the header."""
        original, prev, first = self.end, 0, True
        while prev < self.end:
            prev = self._cookie(prev, first)
            first = False
        if self.del_from is not None:
            self.end = self.del_from if self.preserve else 0
        if self.end == original:
            return "".join(self.buf)
        return "".join(self.buf[: self.end]) if self.end else None

    def _cookie(self, prev: int, first: bool) -> int:
        """Examine the cookie after delimiter `prev`; return where the next one starts."""
        buf = self.buf
        att_beg = prev if first else prev + 1
        while att_beg < self.end and buf[att_beg] in SPHT:
            att_beg += 1
        equal = att_end = att_beg
        while equal < self.end and buf[equal] not in "=,;":
            equal += 1
            if buf[equal - 1] not in SPHT:
                att_end = equal
        if equal < self.end and buf[equal] == "=":
            val_beg = equal + 1
            while val_beg < self.end and buf[val_beg] in SPHT:
                val_beg += 1
            next_ = cookie_value_end(buf, val_beg, self.end)
            val_end = next_
            while val_end > val_beg and buf[val_end - 1] in SPHT:
                val_end -= 1
        else:
            val_beg = val_end = next_ = equal
        if att_beg < self.end and buf[att_beg] == "$":
            return next_  # RFC2109 attributes follow their cookie
        if equal == next_:  # a cookie without '=' is not ours: keep it
            self.preserve = True
            return next_ + self._flush(prev)
        if att_end != equal or val_beg > equal + 1:  # blanks around '=' are removed
            removed = (equal - att_end) + (val_beg - equal - 1)
            del buf[equal + 1 : val_beg]
            del buf[att_end:equal]
            equal, val_beg = att_end, att_end + 1
            val_end, next_, self.end = val_end - removed, next_ - removed, self.end - removed
        if "".join(buf[att_beg:att_end]) != self.cfg.name:
            self.preserve = True
            return next_ + self._flush(prev)
        delim = val_beg + self.decide.server_part("".join(buf[val_beg:val_end]))
        if self.cfg.mode == "prefix" and delim != val_end:
            del buf[val_beg : delim + 1]  # the server's prefix goes, the application's value stays
            shift = delim + 1 - val_beg
            next_, self.end = next_ - shift, self.end - shift
            self.del_from, self.preserve = None, True
        elif self.del_from is None and self.cfg.mode == "insert" and self.cfg.indirect:
            self.del_from = prev
        return next_

    def _flush(self, prev: int) -> int:
        """Remove a pending run of our cookies before a cookie we keep; return the shift."""
        if self.del_from is None:
            return 0
        delta, _from = delete_value(self.buf, 0, self.end, self.del_from, prev)
        self.end += delta
        self.del_from = None
        return delta
