"""HTTP check requests and responses (checker).

`build_request()` renders an HttpSendRule the way HAProxy's HTX -> H1 path
does for checks: defaults OPTIONS / HTTP/1.0, header names lowercased,
`connection: close` unless a Connection header was given, and a
`content-length` header.  `HttpResponse` wraps httptools.HttpResponseParser
and keeps what expects look at: status, reason, headers, the first
BUFSIZE bytes of body.
"""

from __future__ import annotations

import httptools

from lb.checker.model import BUFSIZE, HttpSendRule


def build_request(rule: HttpSendRule) -> bytes:
    method = rule.method or "OPTIONS"
    uri = rule.uri or "/"
    version = rule.version or "HTTP/1.0"
    body = (rule.body or "").encode("latin-1", "surrogateescape")
    lines = [f"{method} {uri} {version}"]
    lines += [f"{name.lower()}: {value}" for name, value in rule.headers]
    if not any(name.lower() == "connection" for name, _ in rule.headers):
        lines.append("connection: close")
    lines.append(f"content-length: {len(body)}")
    head = "\r\n".join(lines) + "\r\n\r\n"
    return head.encode("latin-1", "surrogateescape") + body


class HttpResponse:
    """Incremental response parser; feed() what the socket gives, read the attributes."""

    def __init__(self) -> None:
        self.status: int | None = None
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.headers_done = False
        self.complete = False
        self.error = False
        self._parser = httptools.HttpResponseParser(self)

    # -- parser callbacks (httptools) --------------------------------------
    def on_status(self, data: bytes) -> None:
        self.reason += data

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self.headers_done = True

    def on_body(self, data: bytes) -> None:
        room = BUFSIZE - len(self.body)
        if room > 0:
            self.body += data[:room]

    def on_message_complete(self) -> None:
        self.complete = True

    # -- feeding -------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        if self.complete or self.error:
            return  # anything after the response (or garbage after an error) is ignored
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self.complete = True
        except httptools.HttpParserError:
            self.error = True

    @property
    def full(self) -> bool:
        """No room left to read more body: expects must conclude with what is there."""
        return len(self.body) >= BUFSIZE

    def reason_text(self) -> str:
        return self.reason.decode("latin-1")
