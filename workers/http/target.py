"""Request head checks of HAProxy 2.6's HTTP/1 parser, as functions of the parsed head (worker).

Transfer-codings: only `chunked` alone is accepted (422 when codings come
before a final chunked, 400 otherwise).

An absolute-form target (`GET http://a.example/x HTTP/1.1`) names its own
host: HAProxy refuses the request (400) when a Host header says something
else, compared without case, a port that is the scheme's default counting
as no port (h1_validate_mismatch_authority); it then drops such a default
port from the target and from every Host header (scheme-based
normalization).  Without a Host header the request goes on as it is.
Several Host headers must agree (without case); identical ones are kept
once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from workers.http.exchange import Exchange

DEFAULT_PORTS = {b"http://": b"80", b"https://": b"443"}


class RequestRejected(Exception):
    """Raised from a parser callback: the request is refused before any rule sees
    it, the way HAProxy's H1 parser refuses it (400, or 422 for a transfer-coding
    other than chunked)."""

    def __init__(self, status: int = 400) -> None:
        super().__init__(f"request rejected ({status})")
        self.status = status


def check_request_head(ex: Exchange) -> None:
    """Transfer-codings, Host headers and an absolute-form target of a parsed head
    (RequestRejected when HAProxy's parser refuses it); marks a chunked body."""
    host: bytes | None = None
    for name, value in ex.raw_headers:
        size = len(name)
        if size == 17 and name.lower() == b"transfer-encoding":
            codings = [c.strip() for c in value.lower().split(b",")]
            if codings != [b"chunked"]:
                raise RequestRejected(422 if codings[-1] == b"chunked" else 400)
            ex.chunked = True
        elif size == 4 and name.lower() == b"host":
            if host is None:
                host = value
            else:
                merge_hosts(ex.raw_headers)  # several Host headers: rare
                break
    if ex.url[:1] != b"/":
        check_absolute_target(ex)


def merge_hosts(headers: list[tuple[bytes, bytes]]) -> None:
    """Several Host headers must agree, without case (else 400, as HAProxy's
    parser); the same host again is dropped: HAProxy keeps one."""
    first = None
    for index in range(len(headers) - 1, -1, -1):
        name, value = headers[index]
        if len(name) == 4 and name.lower() == b"host":
            first = value.strip().lower()
    for index in range(len(headers) - 1, -1, -1):
        name, value = headers[index]
        if len(name) == 4 and name.lower() == b"host":
            if value.strip().lower() != first:
                raise RequestRejected(400)  # differing Host values: a parsing error in HAProxy
            if any(len(n) == 4 and n.lower() == b"host" for n, _v in headers[:index]):
                del headers[index]


def check_absolute_target(ex: Exchange) -> None:
    """An absolute-form target must agree with Host (RequestRejected, 400); a default
    port is dropped from it and from every Host header, as HAProxy's parser does."""
    absolute = split_absolute(ex.url)
    if absolute is None:
        return
    scheme, authority, rest = absolute
    headers = ex.raw_headers
    host = next((v.strip() for n, v in headers if len(n) == 4 and n.lower() == b"host"), None)
    if host is not None and not authority_matches(scheme, authority, host):
        raise RequestRejected(400)
    bare = without_default_port(scheme, authority)
    if bare is not None:
        ex.url = scheme + bare + rest
        for index, (name, _value) in enumerate(headers):
            if len(name) == 4 and name.lower() == b"host":
                headers[index] = (name, bare)


def split_absolute(url: bytes) -> tuple[bytes, bytes, bytes] | None:
    """(scheme with `://`, authority, the rest) of an absolute-form target, else None."""
    if not url or url[0] in b"/*":
        return None
    sep = url.find(b"://")
    if sep <= 0:
        return None
    start = sep + 3
    end = len(url)
    for delimiter in b"/?#":
        found = url.find(bytes((delimiter,)), start)
        if 0 <= found < end:
            end = found
    return url[: start].lower(), url[start:end], url[end:]


def split_port(authority: bytes) -> tuple[bytes, bytes | None]:
    """(host, port) of an authority; port None when absent.  IPv6 brackets are kept."""
    colon = authority.rfind(b":")
    if colon < 0 or authority.rfind(b"]") > colon:
        return authority, None
    return authority[:colon], authority[colon + 1 :]


def is_default_port(scheme: bytes, port: bytes | None) -> bool:
    if not port:
        return True
    return DEFAULT_PORTS.get(scheme) == port


def authority_matches(scheme: bytes, authority: bytes, host: bytes) -> bool:
    """The Host value agrees with the target's authority (HAProxy's rules)."""
    if authority.lower() == host.lower():
        return True
    uri_host, uri_port = split_port(authority)
    host_name, host_port = split_port(host)
    if uri_port is None and host_port is None:
        return False
    if uri_port is not None and not is_default_port(scheme, uri_port):
        return False
    if host_port is not None and not is_default_port(scheme, host_port):
        return False
    return uri_host.lower() == host_name.lower()


def without_default_port(scheme: bytes, authority: bytes) -> bytes | None:
    """The authority without a default port, or None when there is none to drop."""
    host, port = split_port(authority)
    if port and is_default_port(scheme, port):
        return host
    return None
