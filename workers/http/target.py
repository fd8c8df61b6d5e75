"""Request target and Host checks of HAProxy 2.6's HTTP/1 parser, as pure functions (worker).

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

DEFAULT_PORTS = {b"http://": b"80", b"https://": b"443"}


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
