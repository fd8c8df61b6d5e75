"""The mode http decision steps, in HAProxy's order, for the engine to call (worker).

Per request, once the headers are parsed (workers/http.py builds the Txn):

    verdict = request_phase(txn)           # captures, frontend http-request and redirect rules,
                                           # then use_backend / default_backend -> txn.backend
    verdict = backend_phase(txn, is_up)    # backend http-request and redirect rules, cookie
                                           # persistence (txn.cookie), X-Forwarded-For

A Verdict (deny/return/redirect/reject) ends the exchange: send
`verdict.reply.render(connection_header)`, log `verdict.term`, status
`verdict.status`.  When `txn.backend` is None after request_phase there is
no backend: reply 503.  After backend_phase, `persistent_server(txn)` is
the server the cookie chose (None: use the balancer); the engine stores
the server it connects to in `txn.server` and calls
`txn.cookie.redispatched()` if it gives up on the cookie's server.

Per response, once its headers are parsed (`txn.response` set):

    verdict = response_phase(txn)          # captures, backend then frontend http-response rules,
                                           # then the persistence cookie, then http-after-response

A Verdict here replaces the server's response (deny: 502 with term "PH").
`cookie_flags(txn)` gives the two cookie characters of %tsc.

`frontend_needs_request()` / `backend_needs_request()` say, once per
proxy, whether these steps have anything to do; when both are False the
engine may skip building Request/Response objects altogether.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from lb.rules.actions import Verdict
from lb.rules.after_response import after_response
from lb.rules.capture import capture_request, capture_response
from lb.rules.forwardfor import add_forwarded_for
from lb.rules.model import AREA, HttpSettings
from lb.rules.persist import request_cookie
from lb.rules.persist_response import response_cookie
from lb.rules.http_rules import run_rules


def settings_of(proxy: Any) -> HttpSettings:
    """The finished HttpSettings of a proxy (set by lb.rules.keywords at load)."""
    return proxy.areas[AREA]


def frontend_needs_request(frontend: Any) -> bool:
    """True when a frontend's requests must be built as Request objects: it
    has rules, captures, conditional or dynamic use_backend, or forwardfor.
    Otherwise the engine may take its raw path up to backend selection
    (default_backend, or an unconditional use_backend: `select_backend`)."""
    s = frontend.areas[AREA]
    return bool(s.req_program or s.res_program or s.req_captures or s.res_captures or s.forwardfor
                or s.cookie_capture or getattr(frontend, "stats", None) is not None
                or any(match is not None or fmt is not None for match, _b, fmt in s.switching))  # fmt: skip


def backend_needs_request(backend: Any) -> bool:
    """True when a backend's rules, cookie or forwardfor need the Request/Response objects."""
    s = backend.areas[AREA]
    return bool(s.req_program or s.res_program or s.cookie or s.forwardfor or s.cookie_capture
                or getattr(backend, "stats", None) is not None)  # the stats page answers its uri


def select_backend(settings: HttpSettings, txn: Any) -> Any:
    """First matching use_backend, else default_backend (None when there is none).

    A dynamic name that resolves to no backend applies default_backend (cfg)."""
    for match, backend, name_fmt in settings.switching:
        if match is None or match(txn):
            if name_fmt is None:
                return backend
            return settings.backends.get(name_fmt(txn), settings.default_backend)
    return settings.default_backend


def request_phase(txn: Any) -> Verdict | None:
    """Frontend side of a request: sets txn.backend unless a rule ended the exchange."""
    settings = txn.frontend.areas[AREA]
    capture_request(settings, txn)
    if settings.req_program:
        outcome = run_rules(settings.req_program, txn)
        if isinstance(outcome, Verdict):
            return outcome
    txn.backend = select_backend(settings, txn)
    return None


def backend_phase(txn: Any, is_up: Callable[[Any], bool], now: int | None = None) -> Verdict | None:
    """Backend side of a request: rules, cookie persistence, X-Forwarded-For.

    `is_up(server)` says whether a server may take persistent traffic (not
    DOWN, not in maintenance)."""
    backend = txn.backend
    settings = backend.areas[AREA]
    if backend is not txn.frontend and settings.req_program:
        outcome = run_rules(settings.req_program, txn)
        if isinstance(outcome, Verdict):
            return outcome
    if settings.cookie is not None:
        when = int(time.time()) if now is None else now
        txn.cookie = request_cookie(settings.cookie, txn.request, settings.servers_by_cookie, is_up,
                                    backend.option("persist"), when)  # fmt: skip
    add_forwarded_for(txn, txn.frontend, backend)
    return None


def persistent_server(txn: Any) -> Any:
    """The server the persistence cookie selected, or None."""
    return txn.cookie.server if txn.cookie is not None else None


def response_phase(txn: Any, now: int | None = None) -> Verdict | None:
    """Response side: captures, http-response rules (backend first), the cookie."""
    frontend, backend = txn.frontend, txn.backend or txn.frontend
    fe_settings, be_settings = frontend.areas[AREA], backend.areas[AREA]
    capture_response(fe_settings, txn)
    programs = (be_settings.res_program,) if backend is frontend else (be_settings.res_program,
                                                                        fe_settings.res_program)  # fmt: skip
    for program in programs:
        if program:
            outcome = run_rules(program, txn)
            if isinstance(outcome, Verdict):
                return outcome  # (allow only ends its own list: the frontend's rules still run, as 2.6 does)
    if be_settings.cookie is not None and txn.cookie is not None:
        when = int(time.time()) if now is None else now
        response_cookie(be_settings.cookie, txn.cookie, txn.response, txn.server, txn.request.method, when)
    if be_settings.after_program or fe_settings.after_program:
        after_response(txn)  # http-after-response: the last rules on the response sent
    return None


def cookie_flags(txn: Any) -> str:
    """The 3rd and 4th characters of %tsc: "--" when the backend has no cookie."""
    return txn.cookie.flags if txn.cookie is not None else "--"
