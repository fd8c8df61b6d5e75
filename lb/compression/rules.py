"""HAProxy's rules for compressing a response, as pure functions (worker; unit-tested without sockets).

The same decisions as HAProxy 2.6's compression filter (flt_http_comp.c),
made in two steps as it makes them:

- on the request (`choose_algorithm`): the client's Accept-Encoding
  elements, q-values included, against the configured algorithms; an old
  browser announcing itself as "Mozilla/4" gets nothing; `identity`, when
  configured, is taken when no element named an algorithm;
- on the response (`compressible`): HTTP/1.1 on both sides, not HEAD,
  status 200-203, a body of known, non-zero length (Content-Length or
  chunked), no Content-Encoding, no `Cache-Control: no-transform`, at most
  one ETag and a valid one, a Content-Type that is not multipart and starts
  with one of the configured types (when types are configured).

`compressed_head` gives the header fields the client then receives.
Headers are httptools' (name, value) byte tuples, names in any case.
"""

from __future__ import annotations

from typing import Iterable, Sequence

Headers = Sequence[tuple[bytes, bytes]]

# RFC 9110 tchar: HAProxy's HTTP_IS_TOKEN
TOKEN_CHARS = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
LWS = b" \t\r\n"
COMPRESSIBLE_STATUS = (200, 201, 202, 203)
Q_MAX = 1000


class Algorithm:
    """One configured algorithm: its `compression algo` name and the token that
    names it in Accept-Encoding and Content-Encoding."""

    __slots__ = ("name", "token", "identity")

    def __init__(self, name: str, token: str) -> None:
        self.name = name
        self.token = token.encode()
        self.identity = name == "identity"

    def __repr__(self) -> str:
        return f"Algorithm({self.name!r})"


# -- header helpers ---------------------------------------------------------------------


def split_elements(value: bytes) -> list[bytes]:
    """Comma-separated elements, blanks around each removed; commas inside double
    quotes (with backslash escapes) do not split (HAProxy's http_find_hdr_value_end)."""
    if b'"' not in value:
        return [part.strip(LWS) for part in value.split(b",")]
    parts, start, quoted, escaped = [], 0, False, False
    for i, char in enumerate(value):
        if escaped:
            escaped = False
        elif quoted:
            escaped, quoted = char == 0x5C, char != 0x22
        elif char == 0x22:
            quoted = True
        elif char == 0x2C:
            parts.append(value[start:i].strip(LWS))
            start = i + 1
    parts.append(value[start:].strip(LWS))
    return parts


def elements(headers: Headers, name: bytes) -> list[bytes]:
    """Every comma-separated element of every `name` field, in order (http_find_header, not full)."""
    out: list[bytes] = []
    size = len(name)
    for hname, value in headers:
        if len(hname) == size and hname.lower() == name:
            out.extend(split_elements(value))
    return out


def fields(headers: Headers, name: bytes) -> list[bytes]:
    """The full value of every `name` field, blanks around it removed."""
    size = len(name)
    return [value.strip(LWS) for hname, value in headers if len(hname) == size and hname.lower() == name]


def word_match(sample: bytes, word: bytes) -> bool:
    """HAProxy's word_match(): `word` at the start of `sample` (letters in any case,
    by its XOR test), followed by blanks only."""
    if len(sample) < len(word):
        return False
    for a, b in zip(sample, word, strict=False):  # sample may be longer: its tail is checked below
        if (a ^ b) not in (0, 0x20):
            return False
    return not sample[len(word) :].strip(b" \t")


# -- the request ------------------------------------------------------------------------


def token_length(element: bytes) -> int:
    size = 0
    for char in element:
        if char not in TOKEN_CHARS:
            break
        size += 1
    return size


def parse_qvalue(text: bytes) -> int:
    """HAProxy's http_parse_qvalue(): `0.5` -> 500, at most three decimals, capped to 1000;
    anything that does not start with a digit is 1000."""
    if not text[:1].isdigit():
        return Q_MAX
    q = (text[0] - 48) * 1000
    if text[1:2] == b".":
        for position, weight in ((2, 100), (3, 10), (4, 1)):
            if not text[position : position + 1].isdigit():
                break
            q += (text[position] - 48) * weight
    return min(q, Q_MAX)


def qvalue_of(element: bytes, start: int) -> int:
    """The q-value of an Accept-Encoding element whose token ends at `start`: the
    first `;q=` parameter, 1000 when there is none (parameters are looked at as
    HAProxy does: blanks skipped, `q=` compared case-sensitively)."""
    end, at = len(element), start
    while True:
        while at < end and element[at] in b" \t\r\n":
            at += 1
        if at >= end or element[at] != 0x3B:  # ';'
            return Q_MAX
        at += 1
        while at < end and element[at] in b" \t\r\n":
            at += 1
        if at >= end:
            return Q_MAX
        if element[at : at + 2] == b"q="[: end - at]:
            return parse_qvalue(element[at + 2 :])
        while at < end and element[at] != 0x3B:
            at += 1


def old_browser(user_agent: bytes | None) -> bool:
    """A "Mozilla/4" user agent that is not MSIE 6 with XP SP2 or MSIE 7 and later:
    HAProxy does not compress for it."""
    ua = user_agent
    if ua is None or len(ua) < 9 or ua[:9] != b"Mozilla/4":
        return False
    return len(ua) < 31 or ua[25:30] != b"MSIE " or ua[30] < 0x36 or (
        ua[30] == 0x36 and (len(ua) < 54 or ua[51:54] != b"SV1"))  # fmt: skip


def choose_algorithm(accept_encoding: Iterable[bytes], algos: Sequence[Algorithm]) -> tuple[Algorithm | None, bool]:
    """The algorithm for this request and whether an Accept-Encoding element named it.

    Elements are tried in order; one wins over the current choice only with a
    strictly higher q-value (so the client's order breaks ties, and q=0 never
    wins).  `*` takes the first algorithm of the list.  Without a match,
    `identity` is taken when it is configured (matched: False; `compression
    offload` then keeps the header)."""
    chosen, best_q = None, 0
    for element in accept_encoding:
        size = token_length(element)
        q = qvalue_of(element, size)
        if q <= best_q:
            continue
        token = element[:size]
        for algo in algos:
            if element[:1] == b"*" or word_match(token, algo.token):
                chosen, best_q = algo, q
                break
    if chosen is not None:
        return chosen, True
    for algo in algos:
        if algo.identity:
            return algo, False
    return None, False


# -- the response -----------------------------------------------------------------------


def is_http11(version: str) -> bool:
    """HTTP/1.1 or later ("2.0" for an h2 stream)."""
    return version not in ("1.0", "0.9")


def framing(headers: Headers) -> tuple[bool, int]:
    """(chunked, content length or -1) of a response as the server framed it."""
    chunked, length = False, -1
    for value in fields(headers, b"transfer-encoding"):
        chunked = split_elements(value)[-1].lower() == b"chunked"
    for value in fields(headers, b"content-length"):
        length = int(value) if value.isdigit() else length
    return chunked, length


def etag_valid(etag: bytes) -> bool:
    """HAProxy's http_get_etag_type() is not ETAG_INVALID: `"x"` or `W/"x"`."""
    if len(etag) < 2 or etag[-1:] != b'"':
        return False
    return etag[:1] == b'"' or etag[:3] == b'W/"'


def type_listed(content_type: bytes, types: Sequence[bytes]) -> bool:
    """The Content-Type starts with one of `types`, in any case (HAProxy compares
    the field's value with strncasecmp: a prefix, parameters included)."""
    lowered = content_type.lower()
    return any(lowered.startswith(t) for t in types)


def compressible(req_version: str, resp_version: str, method: bytes, status: int, headers: Headers,
                 types: Sequence[bytes]) -> bool:  # fmt: skip
    """Whether a response may be compressed (`types` lower-cased; empty: any type)."""
    if not is_http11(req_version) or not is_http11(resp_version) or method == b"HEAD":
        return False
    if status not in COMPRESSIBLE_STATUS:
        return False
    chunked, length = framing(headers)
    if not chunked and length <= 0:  # no length known (until close), or an empty body
        return False
    if fields(headers, b"content-encoding"):
        return False
    if any(word_match(e, b"no-transform") for e in elements(headers, b"cache-control")):
        return False
    etags = fields(headers, b"etag")
    if len(etags) > 1 or (etags and not etag_valid(etags[0])):
        return False
    content_types = fields(headers, b"content-type")
    if not content_types:
        return not types
    if content_types[0][:9].lower() == b"multipart":
        return False
    return not types or type_listed(content_types[0], types)


def compressed_head(headers: Headers, algo: Algorithm, server_chunked: bool) -> list[tuple[bytes, bytes]]:
    """The response's header fields once compressed, in HAProxy's order: the
    server's without Content-Length, a strong first ETag made weak, then
    `transfer-encoding: chunked` (unless the server chunked already),
    `vary: Accept-Encoding` and the Content-Encoding (none for identity)."""
    out: list[tuple[bytes, bytes]] = []
    etag_seen = False
    for name, value in headers:
        lower = name.lower()
        if lower == b"content-length":
            continue
        if lower == b"etag" and not etag_seen:
            etag_seen = True
            value = value.strip(LWS)
            if value[:1] == b'"':
                value = b"W/" + value
        out.append((name, value))
    if not server_chunked:
        out.append((b"transfer-encoding", b"chunked"))
    out.append((b"vary", b"Accept-Encoding"))
    if not algo.identity:
        out.append((b"content-encoding", algo.token))
    return out
