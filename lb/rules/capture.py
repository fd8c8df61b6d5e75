"""`capture request|response header` and `capture cookie` (master, cli; capturing in worker).

    capture request header <name> len <length>
    capture response header <name> len <length>
    capture cookie <name> len <length>

`capture cookie` logs, as %CC and %CS, the first request cookie and the
first response Set-Cookie whose name starts with <name> (suffix the name
with '=' for an exact match), as `name=value` cut to <length>.

Header captures are frontend only.  HAProxy captures right after parsing the headers, before
any rule, the full value of the last occurrence, cut to <length>; a
missing header is logged as an empty string.  `http-request capture ...
len N` adds slots after these (lb.rules.http_rules).  The engine copies
`txn.req_captures` / `txn.res_captures` into the log record
(captured_request_headers / captured_response_headers).
"""

from __future__ import annotations

from typing import Any

from lb.config.kw_proxy import NAMED_ONLY_FRONTEND, proxy_of
from lb.config.model import SECTION_BACKEND
from lb.config.registry import KwContext, KwError, keyword
from lb.rules.model import CaptureSlot, HttpSettings, settings_for


def _atol(text: str) -> int:
    digits = len(text) - len(text.lstrip("0123456789"))
    return int(text[:digits]) if digits else 0


@keyword("capture", (*NAMED_ONLY_FRONTEND, SECTION_BACKEND),
         doc="request header <name> len <n> | response header <name> len <n> | cookie <name> len <n>")
def kw_capture(ctx: KwContext, args: list[str]) -> None:
    kind = args[1] if len(args) > 1 else ""
    if kind == "cookie":
        if len(args) != 5 or args[3] != "len":
            raise KwError("'capture cookie' expects <cookie_name> 'len' <len>.")
        settings_for(proxy_of(ctx)).cookie_capture = (args[2], _atol(args[4]))
        return
    if ctx.section == SECTION_BACKEND:
        raise KwError(f"'capture {kind} header' is only allowed in 'frontend' and 'listen' sections.")
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


def cookie_capture_of(frontend: Any, backend: Any) -> tuple[str, int] | None:
    """The `capture cookie` in effect: the frontend's, else the backend's."""
    for proxy in (frontend, backend):
        settings = proxy.areas.get("http") if proxy is not None else None
        if settings is not None and settings.cookie_capture is not None:
            return settings.cookie_capture
    return None


def captured_request_cookie(capture: tuple[str, int], request: Any) -> str:
    """%CC: the first `name=value` of the Cookie headers whose name starts with the prefix."""
    prefix, length = capture
    for value in request.get_all("cookie"):
        for part in value.split(";"):
            part = part.strip()
            if part.startswith(prefix):
                return part[:length]
    return "-"


def captured_response_cookie(capture: tuple[str, int], response: Any) -> str:
    """%CS: the first Set-Cookie whose cookie name starts with the prefix, as `name=value`."""
    prefix, length = capture
    for value in response.get_all("set-cookie"):
        first = value.split(";", 1)[0].strip()
        if first.startswith(prefix):
            return first[:length]
    return "-"

