"""What `http-request` / `http-response` rules do, one small class per action (worker; built in master, cli).

Every action is called with the Txn and returns None to go on with the
next rule, ALLOW to stop the current rule list (HAProxy's `allow`), or a
Verdict when the exchange ends here (deny, return, redirect, reject).
Header edits take effect at once, so later rules see them.  Request
actions edit `txn.request`, response actions `txn.response` (`response`
flag given at build time).
"""

from __future__ import annotations

import re
from typing import Any, Callable

from lb.rules.message import HeaderList, split_raw
from lb.rules.samptypes import to_text as to_str

ALLOW = object()  # stop evaluating this rule list, let the exchange go on


class Verdict:
    """The end of the exchange decided by a rule.

    kind: "deny", "return", "redirect" or "reject" (close without a reply).
    reply: an lb.rules.reply.Reply, None for "reject".
    term: the first two characters of the log's termination state
    ("PR" denied request, "LR" local reply to a request, "PH"/"LH" the same
    while processing a response).
    """

    __slots__ = ("kind", "reply", "status", "term")

    def __init__(self, kind: str, reply: Any, status: int, term: str) -> None:
        self.kind, self.reply, self.status, self.term = kind, reply, status, term

    def __repr__(self) -> str:
        return f"Verdict({self.kind!r}, status={self.status}, term={self.term!r})"


def _target(response: bool) -> Callable[[Any], HeaderList]:
    if response:
        return lambda txn: txn.response
    return lambda txn: txn.request


class SetHeader:
    __slots__ = ("name", "fmt", "msg")

    def __init__(self, name: str, fmt: Any, response: bool = False) -> None:
        self.name, self.fmt, self.msg = name, fmt, _target(response)

    def __call__(self, txn: Any) -> None:
        value = self.fmt(txn)  # computed before the removal, as HAProxy does
        self.msg(txn).set_header(self.name, value)


class AddHeader(SetHeader):
    __slots__ = ()

    def __call__(self, txn: Any) -> None:
        self.msg(txn).add_header(self.name, self.fmt(txn))


class DelHeader:
    """`del-header NAME [-m str|beg|end|sub|reg]`: names compare case-insensitively."""

    __slots__ = ("test", "msg")

    def __init__(self, name: str, method: str = "str", response: bool = False) -> None:
        key = name.lower()
        tests: dict[str, Callable[[str], bool]] = {
            "str": lambda n: n == key, "beg": lambda n: n.startswith(key), "end": lambda n: n.endswith(key),
            "sub": lambda n: key in n,
        }  # fmt: skip
        if method == "reg":
            search = re.compile(name, re.IGNORECASE).search
            tests["reg"] = lambda n: search(n) is not None
        self.test, self.msg = tests[method], _target(response)

    def __call__(self, txn: Any) -> None:
        message, test = self.msg(txn), self.test
        message.headers[:] = [h for h in message.headers if not test(h[0].lower())]


def expand(template: str, match: re.Match[str]) -> str:
    """HAProxy's exp_replace(): `\\N` inserts group N (nothing if it did not
    match), `\\xHH` a byte, `\\c` the character c."""
    out, i, size, groups = [], 0, len(template), match.re.groups
    while i < size:
        char = template[i]
        if char != "\\" or i + 1 >= size:
            out.append(char)
            i += 1
            continue
        nxt = template[i + 1]
        if nxt.isdigit():
            group = int(nxt)
            if group <= groups and match.group(group) is not None:
                out.append(match.group(group))
            i += 2
        elif nxt == "x" and _is_hex(template[i + 2 : i + 4]):
            out.append(chr(int(template[i + 2 : i + 4], 16)))
            i += 4
        else:
            out.append(nxt)
            i += 2
    return "".join(out)


def _is_hex(text: str) -> bool:
    return len(text) == 2 and all(c in "0123456789abcdefABCDEF" for c in text)


class ReplaceHeader:
    """`replace-header NAME REGEX FMT`: each full value the regex matches is
    replaced, as a whole, by FMT with its back-references expanded."""

    __slots__ = ("key", "regex", "fmt", "msg")

    def __init__(self, name: str, regex: re.Pattern[str], fmt: Any, response: bool = False) -> None:
        self.key, self.regex, self.fmt, self.msg = name.lower(), regex, fmt, _target(response)

    def __call__(self, txn: Any) -> None:
        headers, template, key = self.msg(txn).headers, None, self.key
        for i, (name, value) in enumerate(headers):
            if name.lower() != key:
                continue
            match = self.regex.search(value)
            if match is not None:
                template = self.fmt(txn) if template is None else template
                headers[i] = (name, self.rewrite(value, match, template))

    def rewrite(self, value: str, match: re.Match[str], template: str) -> str:
        return expand(template, match)


class ReplaceValue(ReplaceHeader):
    """`replace-value`: the same on each comma-separated value; a replaced
    value loses the blanks around it (HAProxy's lws_before/lws_after)."""

    __slots__ = ()

    def __call__(self, txn: Any) -> None:
        headers, key, template = self.msg(txn).headers, self.key, None
        for i, (name, value) in enumerate(headers):
            if name.lower() != key:
                continue
            parts, changed = split_raw(value), False
            for j, raw in enumerate(parts):
                match = self.regex.search(raw.strip(" \t"))
                if match is not None:
                    template = self.fmt(txn) if template is None else template
                    parts[j], changed = expand(template, match), True
            if changed:
                headers[i] = (name, ",".join(parts))


class RequestLine:
    """set-path, set-pathq, set-query, set-uri, set-method."""

    __slots__ = ("what", "fmt")

    def __init__(self, what: str, fmt: Any) -> None:
        self.what, self.fmt = what, fmt

    def __call__(self, txn: Any) -> None:
        value, request = self.fmt(txn), txn.request
        if self.what == "path":
            request.set_path(value)
        elif self.what == "query":
            request.set_query(value)
        elif self.what == "method":
            request.set_method(value)
        elif self.what == "pathq":
            request.set_pathq(value)
        else:
            request.set_uri(value)


class SetStatus:
    __slots__ = ("status", "reason")

    def __init__(self, status: int, reason: str | None) -> None:
        self.status, self.reason = status, reason

    def __call__(self, txn: Any) -> None:
        txn.response.set_status(self.status, self.reason)


class SetVar:
    """set-var (a sample) and set-var-fmt (a format); unset-var when `source` is None."""

    __slots__ = ("name", "source")

    def __init__(self, name: str, source: Callable[[Any], Any] | None) -> None:
        self.name, self.source = name, source

    def __call__(self, txn: Any) -> None:
        if self.source is None:
            txn.unset_var(self.name)
            return
        value = self.source(txn)
        if value is not None:
            txn.set_var(self.name, value)


class Capture:
    """`http-request capture SAMPLE len N|id N` into a log capture slot."""

    __slots__ = ("fetch", "slot", "length", "response")

    def __init__(self, fetch: Any, slot: int, length: int, response: bool = False) -> None:
        self.fetch, self.slot, self.length, self.response = fetch, slot, length, response

    def __call__(self, txn: Any) -> None:
        slots = txn.res_captures if self.response else txn.req_captures
        value = to_str(self.fetch.one(txn))
        if slots is not None and self.slot < len(slots) and value is not None:
            slots[self.slot] = value[: self.length]


class Final:
    """allow / reject / deny / return: a fixed outcome, or one built per request."""

    __slots__ = ("outcome", "build")

    def __init__(self, outcome: Any = None, build: Callable[[Any], Any] | None = None) -> None:
        self.outcome, self.build = outcome, build

    def __call__(self, txn: Any) -> Any:
        return self.outcome if self.build is None else self.build(txn)
