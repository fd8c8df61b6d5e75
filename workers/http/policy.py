"""The rules engine's steps (lb.rules) at the points of an exchange (worker).

The exchange calls these in HAProxy's order: per request, captures and the
frontend's http-request rules, use_backend (FrontendRuntime.route, the same
routing as mode tcp), the backend's rules, cookie persistence and option
forwardfor (`request_rules`); per response, captures, http-response rules
(backend first) and the persistence cookie (`response_rules`).  A rule that
answers itself (deny, redirect, return, reject) gives a LocalReply.

A proxy without rules never comes here: its plan sends requests straight
to the backend (workers/http/plan.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lb.logs.record import LogRecord
from lb.rules import pipeline
from lb.rules.after_response import after_response_reply
from lb.rules.actions import Verdict
from lb.rules.capture import captured_request_cookie, captured_response_cookie, cookie_capture_of
from lb.rules.errors import error_reply, mux_error_bytes
from lb.rules.message import Request, Response
from lb.rules.reply import Reply, connection_header
from lb.rules.txn import Txn
from lb.services.registry import UseService
from lb.sticktables import tracking

if TYPE_CHECKING:
    from lb.config.model import Proxy
    from lb.rules.uniqueid import UniqueId
    from workers.http.exchange import Exchange
    from workers.runtime import BackendRuntime, FrontendRuntime, ServerRuntime


class LocalReply:
    """A response lb produces itself: a rule's deny, redirect or return, or an error."""

    __slots__ = ("status", "reply", "term", "delay", "silent", "service")

    def __init__(self, status: int, reply: Reply | None, term: str, delay: int = 0, silent: bool = False,
                 service: Any = None) -> None:  # fmt: skip
        self.status = status
        self.reply = reply  # None: close without answering (http-request reject)
        self.term = term
        self.delay = delay  # ms to hold the request first (http-request tarpit)
        self.silent = silent  # silent-drop: the client is not even told (no FIN/RST it sees)
        self.service = service  # the stats page or a use-service answers (workers/http/services.py)

    def render(self, closing: bool, client_http10: bool, head_request: bool) -> bytes:
        reply = self.reply
        if reply is None:
            return b""
        return reply.render(connection_header(reply.http10, closing, client_http10), with_body=not head_request)

    @property
    def closes(self) -> bool:
        return self.reply is None or self.reply.close


def from_verdict(verdict: Verdict, ex: Exchange | None = None) -> LocalReply:
    kind = verdict.kind
    if kind == "service":
        return LocalReply(-1, None, "LR", service=verdict.service)  # type: ignore[attr-defined]
    if kind == "tarpit" or kind == "deny":
        tracked_error(ex)
    if kind == "tarpit" and ex is not None:
        backend = ex.backend.conf if ex.backend is not None else None
        delay = tracking.tarpit_delay(ex.client.frontend.conf, backend)
        return LocalReply(verdict.status, verdict.reply, verdict.term, delay)
    return LocalReply(verdict.status, verdict.reply, verdict.term, silent=kind == "silent-drop")


def tracked_error(ex: Exchange | None) -> None:
    """A denied or tarpitted request counts in the http_err_* of what the stream tracks."""
    rules = ex.rules if ex is not None else None
    if rules is not None and (rules.stkctr is not None or rules.facts.stkctr is not None):
        tracking.http_error(rules)


def error_reply_for(frontend: FrontendRuntime, backend: BackendRuntime | None, status: int, term: str) -> LocalReply:
    """The error reply: the backend's errorfile, the frontend's, or HAProxy's built-in."""
    return LocalReply(status, error_reply(status, backend.conf if backend is not None else None, frontend.conf), term)


def rejection_bytes(frontend_conf: Proxy, status: int) -> bytes:
    """The raw page of a request refused by the H1 layer (400, 408, 422)."""
    return mux_error_bytes(status, frontend_conf)


# -- request -----------------------------------------------------------------------------


def build_request(ex: Exchange) -> Request:
    """The rules-level request and Txn of `ex`, made once, when something needs them."""
    if ex.request is None:
        headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in ex.raw_headers]
        ex.request = Request(ex.method.decode("latin-1"), ex.url.decode("latin-1"), ex.version, headers)
        ex.rules = Txn(ex.client.facts, ex.request, ex.client.frontend.conf)
    return ex.request


def request_rules(ex: Exchange) -> LocalReply | None:
    """Everything between a parsed request head and choosing a server; sets ex.backend."""
    client = ex.client
    plan = client.plan
    frontend = client.frontend
    tracks = frontend.tcp_rules is not None or client.facts.stkctr is not None
    if plan.needs_request or tracks:
        build_request(ex)
    if tracks:
        reply = tracked_request(ex)
        if reply is not None:
            return reply
    if plan.unique_id is not None:
        set_unique_id(ex, plan.unique_id)
    if plan.needs_request:
        assert ex.rules is not None
        verdict = pipeline.request_phase(ex.rules) or stats_check(ex, frontend.conf)
        if verdict is not None:
            return from_verdict(verdict, ex)
        chosen = ex.rules.backend
        backend = frontend.backend_of.get(id(chosen)) if chosen is not None else None
    else:
        backend = plan.static_backend
    if backend is None or backend.plan is None:
        return error_reply_for(frontend, None, 503, "SC")  # HAProxy: no backend to serve the request
    ex.backend = backend
    capture = cookie_capture_of(frontend.conf, backend.conf)
    if capture is not None:
        ex.cookie_capture = capture
        ex.captured_cookie = captured_request_cookie(capture, build_request(ex))
    if backend.plan.needs_request:
        return backend_rules(ex, backend)
    return None


def backend_rules(ex: Exchange, backend: BackendRuntime) -> LocalReply | None:
    build_request(ex)
    rules = ex.rules
    assert rules is not None and backend.plan is not None
    rules.backend = backend.conf
    plan = backend.plan
    if rules.stkctr is not None:
        tracking.backend_request(rules)
    verdict = pipeline.backend_phase(rules, lambda conf: is_usable(plan.server_of(conf)))
    if verdict is None and backend.conf is not ex.client.frontend.conf:
        verdict = stats_check(ex, backend.conf)
    if verdict is not None:
        return from_verdict(verdict, ex)
    persistent = pipeline.persistent_server(rules)
    if persistent is not None:
        ex.persist = plan.server_of(persistent)
    if backend.tcp_rules is not None:  # use-server, stick match (after cookie persistence, as HAProxy)
        forced = tracking.choose_server(rules, backend.conf, lambda conf: is_usable(plan.server_of(conf)),
                                        assigned=ex.persist is not None)  # fmt: skip
        if forced is not None:
            ex.persist = plan.server_of(forced)
    ex.tracked = rules.stkctr is not None or rules.facts.stkctr is not None or backend.tcp_rules is not None
    return None


def stats_check(ex: Exchange, proxy: Proxy) -> Verdict | None:
    """After a proxy's http-request rules (HAProxy's http_process_req_common): a request
    for its `stats uri` is answered by its stats page, or refused by `stats auth` and
    `stats http-request` (401, 403)."""
    stats = proxy.stats
    page = stats.service if stats is not None else None
    if page is None or ex.rules is None:
        return None
    request = build_request(ex)
    if not page.matches(request.method, request.uri):
        return None
    return page.check(ex.rules) or UseService(page)


def tracked_request(ex: Exchange) -> LocalReply | None:
    """Before the http-request rules: the frontend's tcp-request content rules (once per
    request, on no bytes, as HAProxy in mode http), then the request in tracked counters."""
    rules = ex.rules
    assert rules is not None
    settings = ex.client.frontend.tcp_rules
    if settings is not None and settings.content_program:
        verdict = tracking.content_rules(ex.client.frontend.conf, rules, b"", True)
        if verdict == tracking.REJECT or verdict == tracking.SILENT_DROP:
            return LocalReply(-1, None, "PR", silent=verdict == tracking.SILENT_DROP)
    tracking.http_request(rules)
    ex.tracked = True
    return None


def is_usable(server: ServerRuntime | None) -> bool:
    return server is not None and server.is_usable()


def set_unique_id(ex: Exchange, unique: UniqueId) -> None:
    """The request's unique ID: its format rendered with what is known at this point."""
    client = ex.client
    facts = client.facts
    record = LogRecord()
    record.client_ip, record.client_port = facts.client_ip, facts.client_port
    record.frontend_ip, record.frontend_port = facts.dst_ip, facts.dst_port
    record.frontend = client.frontend.name
    record.accept_date = client.accept_date
    record.request_date = client.accept_date + (ex.begin - client.accept_time) if ex.begin >= 0 \
        else client.accept_date  # fmt: skip
    record.request_counter = ex.rt
    ex.unique_id = unique.compiled.render(record, client.worker.render_context)
    if unique.header:
        build_request(ex).add_header(unique.header, ex.unique_id)
        assert ex.rules is not None
        ex.rules.unique_id = ex.unique_id


def server_chosen(ex: Exchange, server: ServerRuntime) -> None:
    """The exchange is going to `server` (for the response cookie)."""
    rules = ex.rules
    if rules is not None:
        rules.server = server.conf
        if rules.cookie is not None and ex.persist is not None and server is not ex.persist:
            rules.cookie.redispatched()
        if ex.tracked:
            tracking.server_connected(rules, server.conf)  # stick store-request


# -- response ----------------------------------------------------------------------------


def response_rules(ex: Exchange, version: str, reason: bytes) -> LocalReply | None:
    """Captures, http-response rules and the cookie, on a Response object the
    head builder then serializes (ex.response)."""
    backend = ex.backend
    assert backend is not None
    build_request(ex)
    rules = ex.rules
    assert rules is not None
    rules.backend = backend.conf
    headers = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in ex.resp_headers or ()]
    response = Response(ex.status, reason.decode("latin-1"), version, headers)
    ex.response = rules.response = response
    if ex.cookie_capture is not None:
        ex.captured_set_cookie = captured_response_cookie(ex.cookie_capture, response)
    if ex.tracked:
        tracked_response(ex)
    verdict = pipeline.response_phase(rules)
    if verdict is not None:
        ex.response = None
        return from_verdict(verdict, ex)
    return None


def after_response(ex: Exchange, reply: LocalReply) -> LocalReply:
    """lb's own reply through the http-after-response rules (a server's response meets
    them at the end of response_rules)."""
    build_request(ex)
    rules = ex.rules
    assert rules is not None and reply.reply is not None
    if ex.backend is not None:
        rules.backend = ex.backend.conf
    edited = after_response_reply(rules, reply.reply)
    rules.response = None
    return LocalReply(edited.status, edited, reply.term, reply.delay, reply.silent, reply.service)


def tracked_response(ex: Exchange) -> None:
    """The server's status in tracked counters, then `stick store-response` rules."""
    rules = ex.rules
    assert rules is not None
    tracking.http_response(rules, ex.status)
    if ex.server is not None:
        tracking.response_stored(rules, ex.server.conf)


def tracked_end(ex: Exchange, wire_in: int) -> None:
    """After the exchange's log line: its bytes in tracked counters, then release what it tracked."""
    rules = ex.rules
    assert rules is not None
    tracking.transferred(rules, wire_in, ex.bytes_out)
    tracking.stream_end(rules)


def cookie_flags(ex: Exchange) -> str:
    return pipeline.cookie_flags(ex.rules) if ex.rules is not None else "--"

