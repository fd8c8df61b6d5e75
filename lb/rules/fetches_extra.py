"""Sample fetches on captures, the unique ID, the PROXY header's TLVs and the server (worker; compiled in master, cli).

Registered into lb.rules.fetches.FETCHES on import:

    unique-id                 the request's ID (`unique-id-format`); no sample without a format
    capture.req.hdr(<n>)      the n-th request capture slot (`capture request header`, `http-request capture`)
    capture.res.hdr(<n>)      the n-th response capture slot
    capture.req.method|uri|ver, capture.res.ver   the request line as received, the response version
    fc_pp_authority           the AUTHORITY TLV of the PROXY v2 header (the client's SNI)
    fc_pp_unique_id           the UNIQUE_ID TLV of the PROXY v2 header
    srv_name, srv_id          the server the request went to
    so_name                   the name of the bind line that accepted the connection
    bin(<hex>)                a constant binary sample

The TLVs are those the engine stored on ConnFacts.pp_tlvs (lb.rules.pptlv).
"""

from __future__ import annotations

from typing import Any

from lb.rules.fetches import USE_ANY, USE_REQ, USE_RES, FetchError, One, All, _single, fetch
from lb.rules.message import split_target
from lb.rules.pptlv import PP2_TYPE_AUTHORITY, PP2_TYPE_UNIQUE_ID


@fetch("unique-id", "str", USE_ANY)
def _unique_id(args: list[str]) -> tuple[One, All]:
    def get(txn: Any) -> str | None:
        frontend = txn.frontend
        area = frontend.areas.get("unique-id") if frontend is not None else None
        if area is None or not area.format:
            return None  # HAProxy: no sample without a unique-id-format
        return txn.unique_id or None

    return _single(get)


def _slot(args: list[str]) -> int:
    try:
        return int(args[0])
    except ValueError:
        raise FetchError(f"failed to parse '{args[0]}' as type 'signed integer' at position 1") from None


def _capture(attribute: str) -> Any:
    def build(args: list[str]) -> tuple[One, All]:
        index = _slot(args)

        def get(txn: Any) -> str | None:
            slots = getattr(txn, attribute)
            return slots[index] if slots is not None and 0 <= index < len(slots) else None

        return _single(get)

    return build


fetch("capture.req.hdr", "str", USE_ANY, args=(1, 1))(_capture("req_captures"))
fetch("capture.res.hdr", "str", USE_RES, args=(1, 1))(_capture("res_captures"))


def _request_line(part: int) -> Any:
    def build(args: list[str]) -> tuple[One, All]:
        def get(txn: Any) -> str | None:
            request = txn.request
            if request is None:
                return None
            method, uri, version = request.original
            if part == 0:
                return method
            if part == 2:
                return f"HTTP/{version}"
            return uri if uri.startswith("/") else (split_target(uri)[1] or "/")

        return _single(get)

    return build


fetch("capture.req.method", "str", USE_ANY)(_request_line(0))
fetch("capture.req.uri", "str", USE_ANY)(_request_line(1))
fetch("capture.req.ver", "str", USE_ANY)(_request_line(2))


@fetch("capture.res.ver", "str", USE_RES)
def _capture_res_ver(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: f"HTTP/{txn.response.version}" if txn.response is not None else None)


def _tlv(kind: int) -> Any:
    def build(args: list[str]) -> tuple[One, All]:
        def get(txn: Any) -> str | None:
            tlvs = txn.facts.pp_tlvs
            value = tlvs.get(kind) if tlvs else None
            return None if value is None else value.decode("latin-1")

        return _single(get)

    return build


fetch("fc_pp_authority", "str", USE_ANY)(_tlv(PP2_TYPE_AUTHORITY))
fetch("fc_pp_unique_id", "str", USE_ANY)(_tlv(PP2_TYPE_UNIQUE_ID))


@fetch("srv_name", "str", USE_ANY)
def _srv_name(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: txn.server.name if txn.server is not None else None)


@fetch("srv_id", "int", USE_ANY)
def _srv_id(args: list[str]) -> tuple[One, All]:
    return _single(lambda txn: txn.server.id if txn.server is not None else None)


@fetch("so_name", "str", USE_ANY)
def _so_name(args: list[str]) -> tuple[One, All]:
    """The `name` of the bind line that accepted the connection (no sample without one)."""
    from lb.config.model import listener_ids

    def get(txn: Any) -> str | None:
        frontend = txn.frontend
        if frontend is None:
            return None
        for bind, ident in zip(frontend.binds, listener_ids(frontend.binds), strict=True):
            if ident == txn.facts.listener_id:
                return bind.options.get("name")
        return None

    return _single(get)


@fetch("bin", "bin", USE_ANY, args=(1, 1))
def _bin(args: list[str]) -> tuple[One, All]:
    """A constant binary sample from its hex digits."""
    try:
        value = bytes.fromhex(args[0])
    except ValueError:
        raise FetchError(f"failed to parse '{args[0]}' as type 'binary' at position 1") from None
    return (lambda txn: value), (lambda txn: (value,))


__all__ = ["USE_REQ"]
