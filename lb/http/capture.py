"""`capture request header` / `capture response header` (master, cli; capturing in worker).

    capture request header <name> len <length>
    capture response header <name> len <length>

Frontend only.  HAProxy captures right after parsing the headers, before
any rule, the full value of the last occurrence, cut to <length>; a
missing header is logged as an empty string.  `http-request capture ...
len N` adds slots after these (lb.http.rules).  The engine copies
`txn.req_captures` / `txn.res_captures` into the log record
(captured_request_headers / captured_response_headers).
"""

from __future__ import annotations

from typing import Any

from lb.config.kw_proxy import NAMED_ONLY_FRONTEND, proxy_of
from lb.config.registry import KwContext, KwError, keyword
from lb.http.model import CaptureSlot, HttpSettings, settings_for


def _atol(text: str) -> int:
    digits = len(text) - len(text.lstrip("0123456789"))
    return int(text[:digits]) if digits else 0


@keyword("capture", NAMED_ONLY_FRONTEND, doc="request header <name> len <n> | response header <name> len <n>")
def kw_capture(ctx: KwContext, args: list[str]) -> None:
    kind = args[1] if len(args) > 1 else ""
    if kind == "cookie":
        ctx.warn("'capture cookie' is parsed but not applied by lb yet; it has no effect.")
        return
    if kind not in ("request", "response"):
        raise KwError("'capture' expects 'cookie' or 'request header' or 'response header'.")
    if len(args) != 6 or args[2] != "header" or args[4] != "len":
        raise KwError(f"'capture {kind}' expects 'header' <header_name> 'len' <len>.")
    settings = settings_for(proxy_of(ctx))
    slots = settings.req_captures if kind == "request" else settings.res_captures
    slots.append(CaptureSlot(args[3], _atol(args[5])))


def _capture(slots: list[CaptureSlot], message: Any) -> list[str]:
    values = []
    for slot in slots:
        value = message.fheader(slot.header) if slot.header is not None else None
        values.append(value[: slot.length] if value is not None else "")
    return values


def capture_request(settings: HttpSettings, txn: Any) -> None:
    """Fill txn.req_captures from the request as received (before any rule)."""
    if settings.req_captures:
        txn.req_captures = _capture(settings.req_captures, txn.request)


def capture_response(settings: HttpSettings, txn: Any) -> None:
    """Fill txn.res_captures from the response as received (before any rule)."""
    if settings.res_captures:
        txn.res_captures = _capture(settings.res_captures, txn.response)
