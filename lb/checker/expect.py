"""Evaluate one `expect` rule against what a check has received: pure functions (checker).

Follows src/tcpcheck.c `tcpcheck_eval_expect` / `tcpcheck_eval_expect_http`:
an expect either lets the check go on (CONTINUE), needs more data (WAIT),
or fails with a status and an info text built like
`tcpcheck_expect_onerror_message` ("TCPCHK did not match content '+PONG'
at step 2", "HTTP content check did not match", the reason phrase for a
wrong status...).  `last_read` means no more data will come (EOF, error,
buffer full, complete HTTP message).
"""

from __future__ import annotations

from typing import NamedTuple

from lb.checker import status as st
from lb.checker.httpmsg import HttpResponse
from lb.checker.model import BUFSIZE, ExpectRule
from lb.checker.rules import status_index

CONTINUE, WAIT, FAIL = 0, 1, 2


class _Verdict(NamedTuple):
    outcome: int
    status: int = st.UNK
    info: str = ""


class Verdict(_Verdict):
    """What an expect decided; `code` (not part of the tuple) is the check's code when the
    rule sets one: SMTP's reply code, MySQL's error number (protocol checks)."""

    code: int | None = None

    def with_code(self, code: int | None) -> "Verdict":
        if code is not None:
            self.code = code
        return self


GO_ON = Verdict(CONTINUE)
MORE = Verdict(WAIT)


def failure_info(rule: ExpectRule, matched: bool, step: int, desc: str = "", tcp_check: bool = True) -> str:
    """The `info` of a failed expect (HAProxy tcpcheck_expect_onerror_message)."""
    if desc:
        text = desc
    elif rule.on_error:
        text = rule.on_error
    elif not tcp_check or rule.http:
        text = ""
    else:
        text = ("TCPCHK matched unwanted content" if matched else "TCPCHK did not match content") + \
            _what(rule) + f" at step {step}"
    if rule.comment:
        text += f" comment: {rule.comment}"
    return text


def _what(rule: ExpectRule) -> str:
    if rule.kind == "string":
        return f" '{rule.pattern}'"
    return {"binary": " (binary)", "rstring": " (regex)", "rbinary": " (binary regex)"}.get(rule.kind, "")


def success_info(rule: ExpectRule, tcp_check: bool) -> str:
    if rule.on_success:
        return rule.on_success
    return "(tcp-check)" if tcp_check and not rule.http else ""


def hex_dump(data: bytes) -> bytes:
    return data.hex().upper().encode("ascii")


def eval_tcp(rule: ExpectRule, buf: bytes, last_read: bool, step: int, tcp_check: bool = True) -> Verdict:
    """A tcp-check expect on the bytes received since the last send.

    A protocol check (`tcp_check` False) has no generic "TCPCHK did not match" text,
    and may compute its texts and code from the data (lb.checker.native)."""
    last_read = last_read or len(buf) >= BUFSIZE
    if rule.custom is not None:
        return rule.custom(rule, buf, last_read)  # type: ignore[no-any-return]
    if not last_read:
        if rule.kind in ("string", "binary") and len(buf) < len(rule.data):
            return MORE
        if rule.min_recv > 0 and len(buf) < rule.min_recv:
            return MORE
    if rule.kind in ("string", "binary"):
        matched = rule.data in buf
    elif rule.kind == "rbinary":
        matched = rule.regex.search(hex_dump(buf)) is not None  # type: ignore[union-attr]
    else:
        matched = rule.regex.search(buf[: BUFSIZE - 1]) is not None  # type: ignore[union-attr]
    if not matched and not last_read and rule.min_recv == -1:
        return MORE
    code = rule.status_code(buf) if rule.status_code is not None else None
    if matched != rule.inverse:
        if rule.success_text is None:
            return GO_ON if code is None else Verdict(CONTINUE).with_code(code)
        return Verdict(CONTINUE, status_index(rule.ok_status, st.L7OK), rule.success_text(buf)).with_code(code)
    failed = status_index(rule.error_status, st.L7RSP)
    desc = rule.error_text(buf) if rule.error_text is not None else ""
    return Verdict(FAIL, failed, failure_info(rule, matched, step, desc, tcp_check)).with_code(code)


def eval_http(rule: ExpectRule, resp: HttpResponse, last_read: bool, step: int) -> Verdict:
    """An http-check expect on the response being received."""
    last_read = last_read or resp.complete or resp.full
    if resp.error:
        return Verdict(FAIL, st.L7RSP, failure_info(rule, False, step))
    if not resp.headers_done:
        return Verdict(FAIL, st.L7RSP, failure_info(rule, False, step)) if last_read else MORE
    if rule.kind in ("string", "rstring"):
        return _eval_body(rule, resp, last_read, step)
    if rule.kind == "status":
        matched = any(low <= (resp.status or 0) <= high for low, high in rule.codes)
    elif rule.kind == "rstatus":
        matched = rule.regex.search(str(resp.status).encode()) is not None  # type: ignore[union-attr]
    else:
        matched = _header_matches(rule, resp)
    if matched != rule.inverse:
        return GO_ON
    failed = status_index(rule.error_status, st.L7STS)
    return Verdict(FAIL, failed, failure_info(rule, matched, step, resp.reason_text()))


def _eval_body(rule: ExpectRule, resp: HttpResponse, last_read: bool, step: int) -> Verdict:
    body = bytes(resp.body)
    failed = status_index(rule.error_status, st.L7RSP)
    if not body:
        if not last_read:
            return MORE
        return Verdict(FAIL, failed, failure_info(rule, False, step, "HTTP content check could not find a response body"))
    if not last_read and ((rule.kind == "string" and len(body) < len(rule.data)) or
                          (rule.min_recv > 0 and len(body) < rule.min_recv)):
        return MORE
    if rule.kind == "string":
        matched = rule.data in body
    else:
        matched = rule.regex.search(body) is not None  # type: ignore[union-attr]
    if not matched and not last_read and rule.min_recv == -1:
        return MORE
    if matched != rule.inverse:
        return GO_ON
    desc = "HTTP check matched unwanted content" if rule.inverse else "HTTP content check did not match"
    return Verdict(FAIL, failed, failure_info(rule, matched, step, desc))


def _text_matches(method: str, regex, pattern: str, text: str) -> bool:
    if method == "reg":
        return regex.search(text.encode("latin-1")) is not None
    if method == "beg":
        return text.startswith(pattern)
    if method == "end":
        return text.endswith(pattern)
    if method == "sub":
        return pattern in text
    return text == pattern


def _header_matches(rule: ExpectRule, resp: HttpResponse) -> bool:
    """`hdr name <n> [value <v>]`: names compare case-insensitively; values split on commas unless fhdr."""
    match = rule.hdr
    assert match is not None
    for raw_name, raw_value in resp.headers:
        name = raw_name.decode("latin-1")
        pattern = match.name if match.name_match == "reg" else match.name.lower()
        if not _text_matches(match.name_match, match.name_regex, pattern,
                             name if match.name_match == "reg" else name.lower()):
            continue
        if match.value is None:
            return True
        value = raw_value.decode("latin-1")
        values = [value.strip()] if match.full else [part.strip() for part in value.split(",")]
        if any(_text_matches(match.value_match, match.value_regex, match.value, v) for v in values):
            return True
    return False
