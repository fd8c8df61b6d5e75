"""`deny`, `return` and `reject` rule arguments into the replies they send (master, cli; replies built in worker).

    deny   [{status|deny_status} CODE] [content-type T]
           [default-errorfiles | errorfile F | file F | lf-file F | string S | lf-string FMT]
           [hdr NAME FMT]*
    return [status CODE] [content-type T] [... same payloads ...] [hdr NAME FMT]*

A deny without payload (only `deny_status`, or nothing) sends the error
message for its status: the backend's errorfile, the frontend's, or the
built-in one (cfg: "default-errorfiles" is implied).  A return without
payload sends only a status line and `content-length: 0`.  Constant replies
are built once at config load; replies with `lf-*` or `hdr` formats are
built per request.
"""

from __future__ import annotations

from typing import Any, Callable

from lb.rules.actions import Final, Verdict
from lb.rules.errors import ERROR_CODES, error_reply
from lb.rules.errref import section_reply
from lb.rules.fmt import Format
from lb.rules.reply import RawResponseError, build_reply, parse_raw_response

_HANDLED_2_6 = tuple(c for c in ERROR_CODES if c not in (414, 431))
_PAYLOADS = ("default-errorfiles", "errorfile", "errorfiles", "file", "lf-file", "string", "lf-string")
_IGNORED_HEADERS = ("content-length", "content-type", "transfer-encoding")


class ReplyError(ValueError):
    """Wrong reply arguments; the text is HAProxy's."""


class ReplySpec:
    """What a deny/return rule was given."""

    def __init__(self, status: int) -> None:
        self.status = status
        self.status_given = False
        self.content_type: str | None = None
        self.payload: tuple[str, str] | None = None  # (kind, argument)
        self.headers: list[tuple[str, Format]] = []


def parse_reply_args(words: list[str], default_status: int, direction: int,
                     warn: Callable[[str], None]) -> tuple[ReplySpec, list[str]]:  # fmt: skip
    """Consume reply arguments up to `if`/`unless`; return the spec and the rest."""
    spec = ReplySpec(default_status)
    rest = list(words)
    while rest and rest[0] not in ("if", "unless"):
        word = rest.pop(0)
        if word in ("status", "deny_status"):
            spec.status, spec.status_given = _status(rest.pop(0) if rest else ""), True
        elif word == "content-type":
            if not rest:
                raise ReplyError("'content-type' expects a value as argument")
            spec.content_type = rest.pop(0)
        elif word in _PAYLOADS:
            if spec.payload is not None:
                raise ReplyError(f"unexpected '{word}' argument, '{spec.payload[0]}' already defined")
            if word != "default-errorfiles" and not rest:
                raise ReplyError(f"'{word}' expects <{'fmt' if word.startswith('lf-') else 'arg'}> as argument")
            spec.payload = (word, "" if word == "default-errorfiles" else rest.pop(0))
        elif word == "hdr":
            if len(rest) < 2:
                raise ReplyError("'hdr' expects <name> and <value> as arguments")
            name, value = rest.pop(0), rest.pop(0)
            if name.lower() in _IGNORED_HEADERS:
                warn(f"header '{name}' always ignored by the http reply.")
                continue
            spec.headers.append((name, Format(value, direction)))
        else:
            rest.insert(0, word)
            break
    return spec, rest


def _status(text: str) -> int:
    digits = ""
    for char in text:
        if not char.isdigit():
            break
        digits += char
    code = int(digits) if digits else 0  # atol(), as HAProxy
    if not 200 <= code <= 599:
        raise ReplyError(f"Unexpected status code '{code}'")
    return code


def build_outcome(spec: ReplySpec, kind: str, term: str, warn: Callable[[str], None]) -> Final:
    """The action object of a deny/return rule."""
    payload = spec.payload
    if payload is None or payload[0] == "default-errorfiles":
        if kind == "return" and payload is None:
            if spec.content_type:
                warn(f"content-type '{spec.content_type}' ignored by the http reply because neither errorfile "
                     "nor payload defined.")  # fmt: skip
            return _fixed_or_dynamic(spec, b"", None, kind, term)
        if spec.status not in _HANDLED_2_6:
            raise ReplyError(f"status code '{spec.status}' not handled by default with 'default-errorfiles' "
                             "argument.")  # fmt: skip
        status = spec.status
        return Final(build=lambda txn: Verdict(kind, error_reply(status, txn.backend, txn.frontend, txn), status,
                                               term))  # fmt: skip
    word, argument = payload
    if word == "errorfiles":
        ref, status = section_reply(argument, spec.status), spec.status
        return Final(build=lambda txn: Verdict(kind, ref.reply or error_reply(status, txn.backend, txn.frontend, txn),
                                               status, term))  # fmt: skip
    if word == "errorfile":
        reply = parse_raw_response(_read(argument))
        return Final(Verdict(kind, reply, reply.status, term))
    if word in ("file", "lf-file"):
        body_text = _read(argument).decode("latin-1")
    else:
        body_text = argument
    if body_text and not spec.content_type:
        raise ReplyError("a content type must be defined when non-empty payload is configured")
    if word.startswith("lf-"):
        return _fixed_or_dynamic(spec, None, Format(body_text, _direction_of(term)), kind, term)
    return _fixed_or_dynamic(spec, body_text.encode("latin-1", "replace"), None, kind, term)


def _direction_of(term: str) -> int:
    from lb.rules.fetches import USE_REQ, USE_RES

    return USE_RES if term.endswith("H") else USE_REQ


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError:
        raise ReplyError(f"error opening file '{path}'") from None
    return data


def _fixed_or_dynamic(spec: ReplySpec, body: bytes | None, body_fmt: Format | None, kind: str, term: str) -> Final:
    status, ctype, headers = spec.status, spec.content_type, spec.headers
    if body_fmt is None and all(fmt.constant is not None for _n, fmt in headers):
        fixed = [(name, fmt.constant or "") for name, fmt in headers]
        return Final(Verdict(kind, build_reply(status, fixed, body or b"", ctype), status, term))

    def build(txn: Any) -> Verdict:
        text = body if body_fmt is None else body_fmt(txn).encode("latin-1", "replace")
        values = [(name, fmt(txn)) for name, fmt in headers]
        return Verdict(kind, build_reply(status, values, text or b"", ctype), status, term)

    return Final(build=build)


def check_errorfile(reply_bytes: bytes) -> str | None:
    """None when an errorfile parses, else why not (for the post-parse alert)."""
    try:
        parse_raw_response(reply_bytes)
    except RawResponseError as exc:
        return str(exc)
    return None
