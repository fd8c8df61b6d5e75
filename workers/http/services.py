"""HTTP services in the engine: the stats page and `http-request use-service` (worker).

A rule's `use-service` verdict, or a request matching a proxy's `stats uri`
(workers/http/policy.py), gives the exchange a service (lb.services.base)
instead of a server.  The request's body is read first, as HAProxy's
applets read it, bounded by tune.bufsize less tune.maxrewrite (beyond that
the service hears `body_complete=False`, the stats page answers its admin
form with EXCD).  The service then answers once, at once or after asking
the master (the admin form); the reply goes out as one of lb's own, framed
with a content-length, and is logged as HAProxy logs its applets:
`<STATS>`/`<PROMEX>` in the server field, 0 for Tw/Tc/Tr, state `LR`.

Services are rare next to proxied requests: none of this is compiled.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any

from lb.rules.reply import Reply
from lb.rules.status import reason as default_reason
from lb.services.base import ServiceContext, ServiceReply, ServiceRequest
from workers.http import policy
from workers.http.deadlines import REQUEST

if TYPE_CHECKING:
    from workers.http.exchange import Exchange


def serve_service(ex: Exchange, service: Any) -> None:
    """The exchange is answered by `service` once its body is in (now, or when it completes)."""
    ex.service = service
    if ex.complete or ex.body_size > body_limit(ex):
        run(ex)
    else:  # a client that stalls its body meets timeout http-request (408), as HAProxy's buffered requests
        client = ex.client
        client.deadline.enter(REQUEST, client.loop.now, client.plan.request_timeout)


def body_arrived(ex: Exchange) -> None:
    """More body for a waiting service: run it once the body is complete or too large."""
    if not ex.local_reply and (ex.complete or ex.body_size > body_limit(ex)):
        run(ex)


def body_limit(ex: Exchange) -> int:
    return int(ex.client.plan.limits.head)


def run(ex: Exchange) -> None:
    """Hand the request to the service; its reply comes back through `done`, once."""
    ex.local_reply = True  # from now on, what else the client sends is read and dropped
    client = ex.client
    client.deadline.clear()
    worker = client.worker
    answered = False

    def done(reply: ServiceReply) -> None:
        nonlocal answered
        if answered or ex.service is None or getattr(client, "closed", False):
            return  # the client left (the exchange was abandoned) while the service waited
        answered = True
        ex.reply_local(policy.LocalReply(reply.status, framed(reply), "LR"), reply.close)

    context = ServiceContext(worker.config, worker.shm, time.time(), worker.maxconn, os.getpid(), worker.slot,
                             worker.ask_master)  # fmt: skip
    try:
        ex.service.respond(service_request(ex), context, done)
    except Exception as exc:  # a bug in a service answers 500 and is reported, the worker goes on
        worker.report_error(client, exc)
        if not answered:
            answered = True
            ex.reply_local(policy.error_reply_for(client.frontend, ex.backend, 500, "LR"), True)


def service_request(ex: Exchange) -> ServiceRequest:
    client = ex.client
    facts = client.facts
    body = b"".join(ex.body or ())
    if ex.chunked:
        body = unchunk(body)
    proxy = ex.backend.conf if ex.backend is not None else client.frontend.conf
    headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in ex.raw_headers]
    return ServiceRequest(ex.method.decode("latin-1"), ex.url.decode("latin-1"), ex.version, headers, body,
                          facts.client_ip, proxy.name, bool(getattr(facts, "ssl", False)), ex.rules,
                          ex.complete)  # fmt: skip


def unchunk(wire: bytes) -> bytes:
    """The payload of a chunked body as the engine re-encoded it (workers/http/heads.py)."""
    payload = []
    at = 0
    while True:
        line_end = wire.find(b"\r\n", at)
        if line_end < 0:
            break
        size = int(wire[at:line_end].split(b";", 1)[0] or b"0", 16)
        if size == 0:
            break
        payload.append(wire[line_end + 2 : line_end + 2 + size])
        at = line_end + 2 + size + 2
    return b"".join(payload)


def framed(reply: ServiceReply) -> Reply:
    """The service's reply as lb's own: status line, its headers, content-length."""
    lines = [f"HTTP/1.1 {reply.status} {reply.reason or default_reason(reply.status)}\r\n"]
    lines.extend(f"{name.lower()}: {value}\r\n" for name, value in reply.headers)
    lines.append(f"content-length: {len(reply.body)}\r\n")
    return Reply(reply.status, "".join(lines).encode("latin-1", "replace"), reply.body, reply.close)
