"""How an HTTP/1 client connection refuses, times out and loses requests (worker).

Functions of an H1Connection (workers/http/h1.py), kept apart from its
reading and writing: what HAProxy's H1 layer refuses before any rule runs
(400 and 422 for a bad head, 408 for `timeout http-request`, logged
`<BADREQ>` with its raw error pages), a client that closes or resets, and
the connection's deadline expiring in each phase.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lb.rules.txn import Txn
from lb.sticktables import tracking
from workers.http.deadlines import KEEPALIVE, Phase, REQUEST, SERVER_DATA, TUNNEL
from workers.http.exchange import Exchange
from workers.http.log import exchange_ended
from workers.http.policy import rejection_bytes
from workers.runtime import C_REQ_ERRORS

if TYPE_CHECKING:
    from workers.http.h1 import H1Connection


def parse_error(conn: H1Connection, status: int = 400) -> None:
    """The request cannot be parsed: HAProxy's H1 parser answers with its raw
    error page and logs `<BADREQ>` with `PR--`, before any rule or backend."""
    conn.parse_error = True
    conn.frontend.count(C_REQ_ERRORS)
    if conn.client.counts is not None:
        conn.client.counts.count(C_REQ_ERRORS)
    if conn.facts.stkctr is not None:  # a 400 counts in http_err_* of the connection's counters
        tracking.http_error(Txn(conn.facts, None, conn.frontend.conf))
    ex = conn.parsing
    if ex is None:
        ex = Exchange(conn, -1.0, 0)
        conn.exchanges.append(ex)
    if ex is not conn.exchanges[0]:
        conn.exchanges.remove(ex)  # garbage after a request still being served
        conn.pending_error = status
        conn.closing = True
        return
    refuse(conn, ex, status, "PR")


def refuse(conn: H1Connection, ex: Exchange, status: int, term: str, send: bool = True) -> None:
    """End `ex` as a request HAProxy's H1 layer refused (bad request, timeout,
    client gone): whatever was started is undone, the connection closes."""
    ex.abandon()
    ex.backend = ex.server = None
    ex.rejected = True
    ex.raw_in = conn.received - conn.received_done  # what the refused request carried
    ex.status, ex.term = status, term
    ex.local_reply = ex.resp_done = ex.close_after = True
    ex.body = None
    if send:
        data = rejection_bytes(conn.frontend.conf, status)
        if data:
            conn.send(data)
    conn.exchange_done(ex)


def client_closed(conn: H1Connection) -> None:
    """The client closed its side (EOF)."""
    conn.eof = True
    if not conn.exchanges:
        if not conn.requests:  # nothing at all on this connection: HAProxy logs it (CR, 400)
            ex = Exchange(conn, -1.0, 0)
            conn.exchanges.append(ex)
            refuse(conn, ex, 400, "CR", send=False)
            return
        conn.finish()
        return
    ex = conn.exchanges[0]
    if ex.headers_at < 0:  # closed in the middle of a request head: logged as a 400
        refuse(conn, ex, 400, "CR", send=False)
        return
    if conn.tunnel is not None:
        conn.tunnel.client_closed()
    conn.refresh_interest()  # keep serving the response (HAProxy without abortonclose)


def client_aborted(conn: H1Connection) -> None:
    """The client connection failed (reset): the exchange in progress is logged, the connection ends."""
    ex = conn.exchanges[0] if conn.exchanges else None
    if ex is None:
        conn.finish()
        return
    if ex.headers_at < 0:
        refuse(conn, ex, 400, "CR", send=False)
        return
    end_connection(conn, ex, "C" + ("H" if ex.status < 0 else "D"))


def end_connection(conn: H1Connection, ex: Exchange, term: str) -> None:
    """End the connection in the middle of `ex`: counted and logged with `term`."""
    ex.term = term
    ex.abandon()
    if conn.exchanges and conn.exchanges[0] is ex:
        del conn.exchanges[0]
    exchange_ended(conn, ex, conn.received - conn.received_done, conn.client.counts)
    conn.exchanges.clear()
    conn.finish()


def killed(conn: H1Connection) -> None:
    """`shutdown session(s)`: the exchange in progress is logged with HAProxy's K
    state and the phase it was in; the connection ends."""
    ex = conn.exchanges[0] if conn.exchanges else None
    if ex is None or ex.headers_at < 0:
        conn.finish()
        return
    phase = "D" if ex.status >= 0 else "H" if ex.sent_at >= 0 else "C" if ex.server is not None else "Q"
    end_connection(conn, ex, "K" + phase)


def timed_out(conn: H1Connection, phase: Phase, due: float) -> float:
    """The deadline of `phase` passed: handle it, or say when it really expires."""
    now, deadline = conn.loop.now, conn.deadline
    if phase == REQUEST:  # timeout http-request: 408, logged cR (HAProxy)
        ex = conn.exchanges[0] if conn.exchanges else None
        if ex is None:
            ex = Exchange(conn, -1.0, 0)  # nothing received
            conn.exchanges.append(ex)
        conn.parse_error = True
        refuse(conn, ex, 408, "cR")
        return 0.0
    if phase == KEEPALIVE:
        conn.finish()
        return 0.0
    ex = conn.exchanges[0] if conn.exchanges else None
    if ex is None:
        return 0.0
    if phase == SERVER_DATA and ex.conn is not None and not ex.conn.reading:
        # the server is paused because the client does not take the data: it is
        # the client's inactivity that counts now (timeout client, cD)
        client_timeout = (conn.frontend.timeouts.client or 0) / 1000
        later = deadline.client_io + client_timeout if client_timeout else now + deadline.timeout
        if now < later:
            return later
        ex.abort_response("cD")
        return 0.0
    if phase == TUNNEL:
        later = deadline.idle_due(max(deadline.server_io, deadline.client_io))
    else:
        later = deadline.idle_due(deadline.server_io)
    if now < later:
        return later
    deadline.clear()
    ex.expired(phase)
    return 0.0


def soft_stop(conn: H1Connection) -> None:
    """Graceful stop: idle keep-alive connections close now, busy ones after their
    response; one that has not sent its first request yet gets until `timeout
    http-request` for it (it may be on its way: a reload must not fail it)."""
    conn.closing = True
    if not conn.exchanges and (conn.requests or conn.eof):
        conn.finish()


def internal_error(conn: H1Connection) -> None:
    """A bug in a callback (reported by the loop): 500 if nothing was answered yet."""
    ex = conn.exchanges[0] if conn.exchanges else None
    if ex is not None and ex.status < 0 and not conn.closed:
        ex.term = "IR" if ex.headers_at < 0 else "IH"
        ex.abandon()
        conn.out.corked = False
        ex.send_error(500, close=True)
        return
    conn.finish()
