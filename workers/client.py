"""One accepted client connection, whatever its protocol (worker).

A ClientConn owns the accepted socket, the facts every rule reads in both
modes (lb.rules.txn.ConnFacts: addresses, listener, TLS), and the
accounting of the connection (the worker's and the frontend's counts),
which it undoes exactly once in `close()`, however the connection ends.

Before any protocol runs, the ClientConn itself reads the PROXY header of
`bind ... accept-proxy` and performs the TLS handshake of `bind ... ssl`,
both bounded by `timeout client`.  Then it hands the socket to the
protocol of the frontend's mode: a TcpSession (workers/tcp.py) or an
H1Connection (workers/http/h1.py), or an H2Connection (workers/http/h2.py)
when ALPN chose `h2` or the bind says `proto h2`.
"""

from __future__ import annotations

import socket
import ssl
import time
from typing import TYPE_CHECKING, Any

from lb.logs.record import LogRecord
from lb.rules.txn import ConnFacts
from lb.shm.layout import COUNTER
from lb.sticktables import tracking
from workers import traffic
from workers.counting import SESSIONS
from lb.rules.pptlv import TlvError, extract_tlvs
from workers.proxy_protocol import ProxyHeaderError, parse_header

if TYPE_CHECKING:
    from workers.base import Worker
    from workers.listener import Listener
    from workers.loop import Timer

READ, WRITE = 1, 2
C_DENIED_CONN, C_DENIED_SESS = COUNTER["denied_conn"], COUNTER["denied_sess"]
PROXY_PEEK = 536  # v1 is at most 107 bytes; v2 with TLVs is bounded by the 16-byte header's length


class ClientConn:
    """The accepted socket, its facts and its accounting; runs the handshakes."""

    def __init__(self, worker: Worker, listener: Listener, sock: socket.socket, peer: tuple[str, int]) -> None:
        frontend = listener.frontend
        assert frontend is not None
        self.worker = worker
        self.loop = worker.loop
        self.listener = listener
        self.frontend = frontend
        self.sock: socket.socket = sock
        local = sock.getsockname()
        self.facts = ConnFacts(peer[0], peer[1], local[0], local[1], False, None, None, listener.id)
        self.accept_time = self.loop.now
        self.accept_date = time.time()
        self.handshake_ms = 0
        self.mask = 0
        self.timer: Timer | None = None  # bounds the PROXY header and the TLS handshake
        self.protocol: Any = None  # TcpSession or H1Connection once the handshakes are done
        self.closed = False
        worker.sessions_accepted += 1
        self.serial = worker.sessions_accepted  # names the session in `show sess` (workers/control.py)
        frontend.conn_opened()
        frontend.tally[SESSIONS] += 1
        self.counts = listener.counts  # the listener's own counters (socket-stats), usually None
        if self.counts is not None:
            self.counts.conn_opened()
        worker.conn_opened(self)

    # -- handshakes ------------------------------------------------------------------

    def start(self) -> None:
        listener = self.listener
        if self.frontend.tcp_rules is not None and traffic.connection_refused(self, C_DENIED_CONN):
            return
        accept_proxy = listener.accept_proxy or self.facts.expect_proxy  # `tcp-request connection expect-proxy`
        logger = self.frontend.logger
        if logger is not None and logger.logs_at_accept and not accept_proxy:
            self.log_accept()
        timeout = self.frontend.timeouts.client
        if (accept_proxy or listener.tls) and timeout:
            self.timer = self.loop.call_later(timeout / 1000, self.handshake_failed, "cR")
        if accept_proxy:
            self.set_mask(READ, self.on_proxy_header)
        else:
            self.after_proxy_header()

    def on_proxy_header(self, mask: int) -> None:
        """Consume exactly the PROXY header (peek first, so no payload byte is taken)."""
        try:
            data = self.sock.recv(PROXY_PEEK, socket.MSG_PEEK)
            parsed = parse_header(data) if data else None
        except (OSError, ProxyHeaderError):
            self.handshake_failed("PR")
            return
        if not data:
            self.handshake_failed("CR")
            return
        if parsed is None:
            return
        length, src, dst = parsed
        header = self.sock.recv(length)
        facts = self.facts
        if header[:1] == b"\r":  # v2: its TLVs for fc_pp_authority, fc_pp_unique_id
            try:
                facts.pp_tlvs = extract_tlvs(header) or None
            except TlvError:
                self.handshake_failed("PR")  # HAProxy refuses the whole header
                return
        if src is not None and dst is not None:
            facts.client_ip, facts.client_port = src
            facts.dst_ip, facts.dst_port = dst
        self.set_mask(0, self.on_proxy_header)
        logger = self.frontend.logger
        if logger is not None and logger.logs_at_accept:
            self.log_accept()
        self.after_proxy_header()

    def after_proxy_header(self) -> None:
        tls = self.listener.tls
        if tls is None:
            self.handshakes_done()
            return
        self.set_mask(0, self.on_tls_event)
        self.sock = tls.wrap_socket(self.sock, server_side=True, do_handshake_on_connect=False)
        self.facts.ssl = True
        self.set_mask(READ, self.on_tls_event)
        self.on_tls_event(READ)

    def on_tls_event(self, mask: int) -> None:
        sock = self.sock
        assert isinstance(sock, ssl.SSLSocket)
        try:
            sock.do_handshake()
        except ssl.SSLWantReadError:
            self.set_mask(READ, self.on_tls_event)
            return
        except ssl.SSLWantWriteError:
            self.set_mask(WRITE, self.on_tls_event)
            return
        except (OSError, ValueError):
            self.handshake_failed("CR")
            return
        self.handshake_ms = int((self.loop.now - self.accept_time) * 1000)
        self.facts.sni = getattr(sock, "sni", None) or None
        self.facts.alpn = sock.selected_alpn_protocol()
        self.set_mask(0, self.on_tls_event)
        self.handshakes_done()

    def handshakes_done(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.frontend.tcp_rules is not None and traffic.session_refused(self, C_DENIED_SESS):
            return
        if self.frontend.is_http:
            if self.facts.alpn == "h2" or self.listener.bind.options.get("proto") == "h2":
                from workers.http.h2 import H2Connection  # ALPN chose h2, or `bind ... proto h2`

                self.protocol = H2Connection(self)
            else:
                from workers.http.h1 import H1Connection

                self.protocol = H1Connection(self)
        else:
            from workers.tcp import TcpSession

            self.protocol = TcpSession(self)
        self.protocol.start()

    def handshake_failed(self, term: str) -> None:
        """The PROXY header or the TLS handshake failed or timed out: mode tcp logs
        the stream (HAProxy's tcplog with `PR`/`CR`/`cR`), mode http logs nothing."""
        if self.closed:
            return
        if not self.frontend.is_http:
            from workers.tcpend import log_unstarted

            self.release()
            log_unstarted(self, term)
            self.accounting_done()
            return
        self.close()

    # -- helpers for the protocols ---------------------------------------------------

    def set_mask(self, mask: int, callback: Any) -> None:
        """Poll the client socket for `mask` with `callback` (0: stop polling)."""
        old = self.mask
        if mask == old:
            return
        if not old:
            self.loop.register(self.sock, mask, callback)
        elif not mask:
            self.loop.unregister(self.sock)
        else:
            self.loop.modify(self.sock, mask, callback)
        self.mask = mask

    def log_accept(self) -> None:
        """`log` without a format: HAProxy's `Connect from ...` line at accept."""
        logger = self.frontend.logger
        assert logger is not None
        facts = self.facts
        record = LogRecord()
        record.client_ip, record.client_port = facts.client_ip, facts.client_port
        record.frontend_ip, record.frontend_port = facts.dst_ip, facts.dst_port
        logger.log_accept(record)

    def base_record(self) -> LogRecord:
        """A log record with the connection's fields (the protocol adds its own)."""
        facts, frontend = self.facts, self.frontend
        record = LogRecord()
        record.client_ip, record.client_port = facts.client_ip, facts.client_port
        record.frontend_ip, record.frontend_port = facts.dst_ip, facts.dst_port
        record.frontend = frontend.name
        record.frontend_ssl = facts.ssl
        record.accept_date = record.request_date = self.accept_date
        record.t_handshake = self.handshake_ms
        record.t_total = int((self.loop.now - self.accept_time) * 1000)
        record.actconn = frontend.total_actconn()
        record.feconn = frontend.total_conns()
        return record

    # -- the end -------------------------------------------------------------------------

    def release(self) -> None:
        """Stop polling and close the socket (the protocol logs after this, as HAProxy)."""
        if self.closed:
            return
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.mask:
            self.loop.unregister(self.sock)
            self.mask = 0
        try:
            self.sock.close()
        except OSError:
            pass

    def accounting_done(self) -> None:
        """The connection no longer counts: frontend and worker (after the log line,
        so that %fc and %ac include it, as HAProxy's do)."""
        self.frontend.conn_closed()
        if self.counts is not None:
            self.counts.conn_closed()
        if self.facts.stkctr is not None:  # what tcp-request connection/session rules tracked
            tracking.session_end(self.facts)
        self.worker.conn_closed(self)

    def close(self) -> None:
        """End the connection now, without a log line."""
        if self.closed:
            return
        self.release()
        self.accounting_done()

    def abort(self) -> None:
        """Undo everything after a failure while starting (the listener reported it)."""
        protocol = self.protocol
        if protocol is not None and not self.closed:
            try:
                protocol.abort()
                return
            except Exception as exc:  # the protocol's own cleanup failed: close the socket at least
                self.worker.report_error(protocol, exc)
        self.close()

    # -- worker hooks ---------------------------------------------------------------------

    def on_soft_stop(self) -> None:
        """Graceful stop: a handshake in progress finishes; the protocol decides the rest."""
        if self.protocol is not None:
            self.protocol.on_soft_stop()

    def target(self) -> tuple[str | None, str | None]:
        """Names of the backend and server this connection's stream uses now (`show sess`)."""
        protocol = self.protocol
        return protocol.target() if protocol is not None else (None, None)

    def on_server(self, index: int) -> bool:
        """Whether a stream of this connection is on server `index` (shutdown sessions server)."""
        protocol = self.protocol
        return protocol is not None and protocol.on_server(index)

    def kill(self) -> None:
        """`shutdown session`: end it now; a stream in progress is logged with state K."""
        if self.closed:
            return
        if self.protocol is not None:
            self.protocol.kill()
        else:
            self.close()

    def internal_error(self) -> None:
        """A bug in a handshake callback (reported by the loop): end the connection."""
        self.handshake_failed("PR" if self.listener.accept_proxy and not self.facts.ssl else "CR")
