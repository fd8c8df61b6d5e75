"""Redirect rules: the standalone `redirect` keyword and `http-request redirect` (master, cli; worker).

    redirect {location L | prefix P | scheme S} [code 301|302|303|307|308]
             [drop-query] [append-slash] [ignore-empty] [set-cookie N[=v]] [clear-cookie N[=]]

The reply is HAProxy 2.6's, byte for byte (http_apply_redirect_rule, checked
on the wire):

    HTTP/1.1 302 Found\\r\\ncontent-length: 0\\r\\nlocation: https://ex.com/r1\\r\\n
    cache-control: no-cache\\r\\n            (302, 303 and 307 only)
    set-cookie: FOO=bar; path=/;\\r\\n         (set-cookie / clear-cookie)

`prefix` and `scheme` append the request path with its query (without it
under drop-query; `/` when the request has no path), `scheme` puts the
first Host value in between, and append-slash adds a `/` at the very end
when missing.  A prefix of exactly `/` adds nothing.  With the standalone
keyword the value is literal; in `http-request redirect` it is a log-format
string.  HAProxy closes the connection after a redirect when the request
body was not fully received: that decision is the engine's.
"""

from __future__ import annotations

from typing import Any

from lb.rules.actions import Verdict
from lb.rules.fetches import USE_REQ
from lb.rules.fmt import Format, literal
from lb.rules.message import split_target
from lb.rules.reply import Reply

REDIRECT_REASONS = {301: "Moved Permanently", 302: "Found", 303: "See Other", 307: "Temporary Redirect",
                    308: "Permanent Redirect"}  # fmt: skip
_OPTIONS = "'code', 'prefix', 'location', 'scheme', 'set-cookie', 'clear-cookie', 'drop-query', 'ignore-empty' " \
           "or 'append-slash'"  # fmt: skip


class RedirectError(ValueError):
    """Wrong redirect arguments; the text is HAProxy's."""


class Redirect:
    """A compiled redirect rule; calling it returns a Verdict, or None to skip (ignore-empty)."""

    __slots__ = ("type", "fmt", "code", "drop_query", "append_slash", "ignore_empty", "cookie", "term", "_fixed")

    def __init__(self, type_: str, fmt: Format, code: int = 302, term: str = "LR") -> None:
        self.type, self.fmt, self.code, self.term = type_, fmt, code, term
        self.drop_query = self.append_slash = self.ignore_empty = False
        self.cookie: str | None = None
        self._fixed: Verdict | None = None

    def freeze(self) -> None:
        """Precompute the verdict when the location cannot change."""
        if self.type == "location" and self.fmt.constant is not None:
            self._fixed = self._verdict(self.fmt.constant)

    def location(self, txn: Any) -> str:
        if self.type == "location":
            return self.fmt(txn)
        path = _path_with_query(txn.request.uri)
        if self.drop_query:
            path = path.partition("?")[0]
        if self.type == "scheme":
            host = txn.request.first_value("host") or ""
            location = f"{self.fmt(txn)}://{host}{path}"
        else:
            location = self.fmt(txn) + path
        if self.append_slash and location and not location.endswith("/"):
            location += "/"
        return location

    def __call__(self, txn: Any) -> Verdict | None:
        if self._fixed is not None:
            return self._fixed
        location = self.location(txn)
        if not location and self.ignore_empty and self.type == "location":
            return None
        return self._verdict(location)

    def _verdict(self, location: str) -> Verdict:
        lines = [f"HTTP/1.1 {self.code} {REDIRECT_REASONS[self.code]}\r\n", "content-length: 0\r\n",
                 f"location: {location}\r\n"]  # fmt: skip
        if self.code in (302, 303, 307):
            lines.append("cache-control: no-cache\r\n")
        if self.cookie is not None:
            lines.append(f"set-cookie: {self.cookie}\r\n")
        reply = Reply(self.code, "".join(lines).encode("latin-1", "replace"))
        return Verdict("redirect", reply, self.code, self.term)


def _path_with_query(uri: str) -> str:
    """The request path with its query; `/` when there is none (or for `*`)."""
    _prefix, path = split_target(uri)
    return path if path and path != "*" else "/"


def parse_redirect(words: list[str], use_fmt: bool, direction: int = USE_REQ,
                   term: str = "LR") -> tuple[Redirect, list[str]]:  # fmt: skip
    """Parse the words after `redirect` up to `if`/`unless`; return the rule and the rest."""
    type_, value, code = None, "", 302
    flags: dict[str, bool] = {"drop-query": False, "append-slash": False, "ignore-empty": False}
    cookie: str | None = None
    rest = list(words)
    while rest and rest[0] not in ("if", "unless"):
        word = rest.pop(0)
        if word in ("location", "prefix", "scheme"):
            if not rest:
                raise RedirectError(f"missing argument for '{word}'")
            type_, value = word, rest.pop(0)
        elif word == "code":
            code = _code(rest.pop(0) if rest else "")
        elif word in flags:
            flags[word] = True
        elif word in ("set-cookie", "clear-cookie"):
            if not rest:
                raise RedirectError(f"missing argument for '{word}'")
            name = rest.pop(0)
            cookie = f"{name}; path=/;" if word == "set-cookie" else f"{name}; path=/; Max-Age=0;"
        elif word == "keep-query":
            continue  # later HAProxy versions; the query is kept by default anyway
        else:
            raise RedirectError(f"expects {_OPTIONS} (was '{word}')")
    if type_ is None:
        raise RedirectError("redirection type expected ('prefix', 'location', or 'scheme')")
    if type_ == "prefix" and value == "/":
        value = ""  # "/" means the same URI (cfg: nothing is inserted)
    rule = Redirect(type_, Format(value, direction) if use_fmt else literal(value), code, term)
    rule.drop_query, rule.append_slash = flags["drop-query"], flags["append-slash"]
    rule.ignore_empty, rule.cookie = flags["ignore-empty"], cookie
    rule.freeze()
    return rule, rest


def _code(text: str) -> int:
    code = int(text) if text.isdigit() else 0
    if code not in REDIRECT_REASONS:
        raise RedirectError(f"'code': unsupported HTTP code '{text}' (must be one of 301, 302, 303, 307 or 308)")
    return code
