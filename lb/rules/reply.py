"""Responses lb writes itself: errors, deny, return, redirects (worker; built in master, cli).

A Reply holds the status line and headers (each ending in CRLF, without the
blank line) and the body.  The engine adds the connection header it
decides on, exactly where HAProxy's H1 mux puts it, at the end of the
headers, then the blank line (see `render`).  HAProxy 2.6 writes
`connection: close` for HTTP/1.0 clients or when it closes, and
`connection: keep-alive` to a keep-alive HTTP/1.0 client; nothing for a
keep-alive HTTP/1.1 client.  `close` is True when the reply itself asks for
the connection to be closed (built-in 400 and 408, an errorfile saying
`Connection: close` or without a length).

Header names are lower case, as HAProxy 2.6 emits them.
"""

from __future__ import annotations

from dataclasses import dataclass

from lb.rules.status import reason as default_reason

CONNECTION_CLOSE = b"connection: close\r\n"
CONNECTION_KEEP_ALIVE = b"connection: keep-alive\r\n"


@dataclass(frozen=True)
class Reply:
    status: int
    head: bytes  # status line + headers, each ending in CRLF; no blank line
    body: bytes = b""
    close: bool = False

    def render(self, connection: bytes = b"", with_body: bool = True) -> bytes:
        """The bytes to send: head, the engine's connection header, blank line, body.

        `with_body` False for a HEAD request.  An empty errorfile renders as
        nothing at all (HAProxy's `errorfile 408 /dev/null` idiom)."""
        if not self.head:
            return b""
        return b"".join((self.head, connection, b"\r\n", self.body if with_body else b""))

    @property
    def http10(self) -> bool:
        return self.head.startswith(b"HTTP/1.0 ")

    @property
    def length(self) -> int:
        """Bytes of the reply without any connection header (for the log's %B)."""
        return len(self.head) + 2 + len(self.body) if self.head else 0


def build_reply(status: int, headers: list[tuple[str, str]] = (), body: bytes = b"",
                content_type: str | None = None, reason: str | None = None) -> Reply:  # fmt: skip
    """A reply shaped like HAProxy's `http-request return`: the `hdr` headers
    first, then content-length, then content-type when there is a body."""
    lines = [f"HTTP/1.1 {status} {default_reason(status) if reason is None else reason}\r\n"]
    lines.extend(f"{name.lower()}: {value}\r\n" for name, value in headers)
    lines.append(f"content-length: {len(body)}\r\n")
    if body and content_type:
        lines.append(f"content-type: {content_type}\r\n")
    return Reply(status, "".join(lines).encode("latin-1", "replace"), body)


class RawResponseError(ValueError):
    pass


def parse_raw_response(raw: bytes) -> Reply:
    """An errorfile (a complete HTTP/1 response) as HAProxy re-emits it:
    same status line and body, header names lower-cased, Connection headers
    dropped (the engine writes its own).  RawResponseError when unparsable."""
    if not raw:
        return Reply(0, b"", b"", close=True)
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    status_line = lines[0].decode("latin-1")
    version, _, rest = status_line.partition(" ")
    code_text, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not code_text.isdigit() or len(code_text) != 3:
        raise RawResponseError(f"invalid status line '{status_line}'")
    out = [f"{version} {code_text} {reason}\r\n"]
    close = length = chunked = False
    for line in lines[1:]:
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon or not name or name != name.strip():
            raise RawResponseError(f"invalid header line '{line.decode('latin-1')}'")
        name, value = name.lower(), value.strip(" \t")
        if name == "connection":
            close = close or "close" in value.lower()
            continue
        length = length or name == "content-length"
        chunked = chunked or (name == "transfer-encoding" and "chunked" in value.lower())
        out.append(f"{name}: {value}\r\n")
    close = close or not (length or chunked)
    return Reply(int(code_text), "".join(out).encode("latin-1"), body, close)


def connection_header(reply_http10: bool, closing: bool, client_http10: bool) -> bytes:
    """The connection header HAProxy 2.6's H1 mux appends to a response:
    `close` when the connection ends after it (implicit for an HTTP/1.0
    response), `keep-alive` when it stays open for an HTTP/1.0 peer."""
    if closing:
        return b"" if reply_http10 else CONNECTION_CLOSE
    return CONNECTION_KEEP_ALIVE if client_http10 or reply_http10 else b""
