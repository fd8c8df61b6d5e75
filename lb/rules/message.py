"""HTTP/1 request and response heads as the HTTP engine sees them (worker).

The engine (workers/http.py) builds a Request from httptools callbacks:
method, target as received (origin-form `/a?b`, absolute-form
`http://h/a`, `*`), version ("1.1") and the header list in original order
and case, names and values decoded as latin-1.  Rules, ACLs and cookie
persistence read and edit these objects; the engine then serializes the
head with `head_bytes()`.

Header names are written in lower case on output, in both directions, as
HAProxy 2.6 does (HTX; seen on the wire in the 2.6 lab): `Host: x` from a
client reaches the server as `host: x`.  Values are written as stored.
Connection management headers are the engine's business: it edits them in
`headers` before serializing.

Lookups follow HAProxy's fetch semantics (cfg §7.3.6):
- `header(name)`: `req.hdr(name)`, the last comma-separated value of the
  last occurrence;
- `fheader(name)`: `req.fhdr(name)`, the full value of the last occurrence;
- `values(name)`: every comma-separated value of every occurrence, in
  order, which is what the ACL `hdr()` criteria try one by one;
- `get_all(name)`: the full value of every occurrence.
Names are case-insensitive.  Note that `balance hdr(name)` in HAProxy hashes
the *first* value of the first occurrence (`first_value()`).
"""

from __future__ import annotations

from lb.rules.status import reason as default_reason

Header = tuple[str, str]


def split_raw(value: str) -> list[str]:
    """Comma-separated parts with their blanks; commas inside double quotes
    do not split (HAProxy's http_find_hdr_value_end)."""
    if '"' not in value:
        return value.split(",")
    parts, start, quoted, escaped = [], 0, False, False
    for i, char in enumerate(value):
        if escaped:
            escaped = False
        elif quoted:
            escaped, quoted = char == "\\", char != '"'
        elif char == '"':
            quoted = True
        elif char == ",":
            parts.append(value[start:i])
            start = i + 1
    parts.append(value[start:])
    return parts


def split_values(value: str) -> list[str]:
    """Comma-separated values, blanks around each removed."""
    return [part.strip(" \t") for part in split_raw(value)]


def pick_occurrence(items: list[str], occ: int) -> str | None:
    """HAProxy's <occ>: 1 is the first, -1 the last, 0 means the last too."""
    if not items:
        return None
    if occ > 0:
        return items[occ - 1] if occ <= len(items) else None
    index = len(items) + (occ or -1)
    return items[index] if index >= 0 else None


class HeaderList:
    """Header helpers shared by requests and responses."""

    __slots__ = ("headers",)

    def __init__(self, headers: list[Header] | None = None) -> None:
        self.headers: list[Header] = headers if headers is not None else []

    # -- lookups -----------------------------------------------------------

    def fheader(self, name: str) -> str | None:
        """Full value of the last occurrence of `name` (req.fhdr)."""
        key, size = name.lower(), len(name)
        for hname, value in reversed(self.headers):
            if len(hname) == size and hname.lower() == key:
                return value
        return None

    def header(self, name: str) -> str | None:
        """Last comma-separated value of the last occurrence (req.hdr)."""
        full = self.fheader(name)
        if full is None or "," not in full:
            return full
        return split_values(full)[-1]

    def first_value(self, name: str) -> str | None:
        """First comma-separated value of the first occurrence (balance hdr, redirect scheme)."""
        full = self.first(name)
        if full is None or "," not in full:
            return full
        return split_values(full)[0]

    def first(self, name: str) -> str | None:
        """Full value of the first occurrence."""
        key, size = name.lower(), len(name)
        for hname, value in self.headers:
            if len(hname) == size and hname.lower() == key:
                return value
        return None

    def get_all(self, name: str) -> list[str]:
        """Full values of every occurrence, in order."""
        key, size = name.lower(), len(name)
        return [v for n, v in self.headers if len(n) == size and n.lower() == key]

    def values(self, name: str) -> list[str]:
        """Every comma-separated value of every occurrence, in order."""
        out: list[str] = []
        for full in self.get_all(name):
            out.extend(split_values(full) if "," in full else (full.strip(" \t"),))
        return out

    def has(self, name: str) -> bool:
        return self.first(name) is not None

    # -- edits -------------------------------------------------------------

    def add_header(self, name: str, value: str) -> None:
        """Append a header at the end (HAProxy's add-header)."""
        self.headers.append((name, value))

    def del_header(self, name: str) -> int:
        """Remove every occurrence of `name`; return how many were removed."""
        key, size = name.lower(), len(name)
        kept = [h for h in self.headers if not (len(h[0]) == size and h[0].lower() == key)]
        removed = len(self.headers) - len(kept)
        if removed:
            self.headers[:] = kept
        return removed

    def set_header(self, name: str, value: str) -> None:
        """Remove every occurrence, then append one (HAProxy's set-header)."""
        self.del_header(name)
        self.headers.append((name, value))

    def replace_header(self, name: str, value: str) -> None:
        """Replace the value of every occurrence in place, keeping positions;
        append the header when absent."""
        key, size = name.lower(), len(name)
        found = False
        for i, (hname, _old) in enumerate(self.headers):
            if len(hname) == size and hname.lower() == key:
                self.headers[i] = (hname, value)
                found = True
        if not found:
            self.headers.append((name, value))

    def _head_lines(self, first_line: str) -> bytes:
        lines = [first_line]
        lines.extend(f"{name.lower()}: {value}\r\n" for name, value in self.headers)
        lines.append("\r\n")
        return "".join(lines).encode("latin-1", "replace")


def origin_form(uri: str) -> str:
    """The target of an HTTP/2 request (`http(s)://authority/path`) in origin form."""
    if uri[:7].lower() == "http://" or uri[:8].lower() == "https://":
        path = split_target(uri)[1]
        return path if path[:1] == "/" else "/" + path  # `http://h?q` -> `/?q`
    return uri


class Request(HeaderList):
    """A request head: `path` and `query` are computed on first use."""

    __slots__ = ("method", "uri", "version", "_path", "_query", "_split", "original", "received_headers")

    def __init__(self, method: str, uri: str, version: str = "1.1", headers: list[Header] | None = None) -> None:
        super().__init__(headers)
        self.method = method
        self.uri = uri
        self.version = version
        self.original = (method, uri, version)  # the request line as received (capture.req.*), before rules
        self.received_headers = list(self.headers)  # a copy: edits change self.headers in place
        self._split = False
        self._path: str | None = None
        self._query: str | None = None

    def _split_uri(self) -> None:
        uri = self.uri
        mark = uri.find("?")
        target = uri if mark < 0 else uri[:mark]
        self._query = None if mark < 0 else uri[mark + 1 :]
        self._path = path_of_target(target)
        self._split = True

    @property
    def path(self) -> str | None:
        """From the first `/` (after the authority of an absolute URI) to
        `?`; None for `*` and authority-form targets (HAProxy: absent)."""
        if not self._split:
            self._split_uri()
        return self._path

    @property
    def query(self) -> str | None:
        """Text after the first `?`; "" when `?` ends the URI; None without `?`."""
        if not self._split:
            self._split_uri()
        return self._query

    def set_uri(self, uri: str) -> None:
        self.uri = uri
        self._split = False

    def set_method(self, method: str) -> None:
        self.method = method

    def set_path(self, path: str) -> None:
        """Replace the path, keeping the scheme/authority prefix and the query."""
        prefix, old_path = split_target(self.uri)
        mark = old_path.find("?")
        query = old_path[mark:] if mark >= 0 else ""
        self.set_uri(prefix + path + query)

    def set_pathq(self, pathq: str) -> None:
        """Replace the path and the query (HAProxy's set-pathq)."""
        prefix, _old = split_target(self.uri)
        self.set_uri(prefix + pathq)

    def set_query(self, query: str) -> None:
        """Replace what follows the first `?` (added when missing)."""
        mark = self.uri.find("?")
        base = self.uri if mark < 0 else self.uri[:mark]
        self.set_uri(f"{base}?{query}")

    def as_received(self) -> bool:
        """True while no rule has changed the request line or a header: the
        head can then be written from the bytes received, without a rebuild."""
        return self.headers == self.received_headers and (self.method, self.uri, self.version) == self.original

    def head_bytes(self) -> bytes:
        """Request line and headers, ending with the blank line.  An HTTP/2
        request goes to the (HTTP/1.1) server in origin form, as HAProxy sends it."""
        if self.version == "2.0":
            return self._head_lines(f"{self.method} {origin_form(self.uri)} HTTP/1.1\r\n")
        return self._head_lines(f"{self.method} {self.uri} HTTP/{self.version}\r\n")

    def __repr__(self) -> str:
        return f"Request({self.method!r}, {self.uri!r}, {self.version!r}, {self.headers!r})"


class Response(HeaderList):
    """A response head."""

    __slots__ = ("status", "reason", "version")

    def __init__(self, status: int, reason: str | None = None, version: str = "1.1",
                 headers: list[Header] | None = None) -> None:  # fmt: skip
        super().__init__(headers)
        self.status = status
        self.reason = default_reason(status) if reason is None else reason
        self.version = version

    def set_status(self, status: int, reason: str | None = None) -> None:
        """HAProxy's set-status: the reason defaults to the standard one."""
        self.status = status
        self.reason = default_reason(status) if reason is None else reason

    def head_bytes(self) -> bytes:
        """Status line and headers, ending with the blank line."""
        return self._head_lines(f"HTTP/{self.version} {self.status} {self.reason}\r\n")

    def __repr__(self) -> str:
        return f"Response({self.status!r}, {self.reason!r}, {self.version!r}, {self.headers!r})"


def path_of_target(target: str) -> str | None:
    """The path part of a request target without its query."""
    if target.startswith("/"):
        return target
    scheme_end = target.find("://")
    if scheme_end < 0:
        return None  # "*" or authority-form (CONNECT host:port)
    slash = target.find("/", scheme_end + 3)
    return target[slash:] if slash >= 0 else ""


def split_target(uri: str) -> tuple[str, str]:
    """(scheme and authority prefix, path with its query) of a request target."""
    if uri.startswith("/"):
        return ("", uri)
    scheme_end = uri.find("://")
    if scheme_end < 0:
        return (uri, "") if uri != "*" else ("", "")
    end = authority_end(uri, scheme_end + 3)
    return (uri[:end], uri[end:])


def authority_end(uri: str, start: int) -> int:
    """Where the authority starting at `start` ends: the first `/` or `?` (RFC 3986 §3.2)."""
    end = len(uri)
    for separator in ("/", "?"):
        at = uri.find(separator, start, end)
        if at >= 0:
            end = at
    return end
