"""mode tcp: relay bytes between a client and a server (worker).

One TcpSession per client connection, started by its ClientConn once the
PROXY header and TLS handshake are done.  It routes with the same code as
mode http (FrontendRuntime.route over the connection's facts: use_backend
with layer-4 ACLs, dynamic names, default_backend), gets a server through
the Connector, then relays.  Each direction has an OutBuffer: a side is
not read again until what it sent is fully written to the other side, so
memory per session is bounded by two buffers (backpressure).  Half-closes
are propagated with shutdown(SHUT_WR), and the session ends once both
directions have finished.

With `option splice-request|splice-response|splice-auto` a direction moves
through a pipe instead (workers/tcpsplice.py): the same one-chunk-at-a-time
backpressure, with the pipe in the place of the OutBuffer.  A direction is
spliced only when both sides are plain TCP (no TLS), its OutBuffer is empty
(the bytes tcp-request content rules read go first, copied) and the worker
has a pipe to spare; bytes are counted as they enter the pipe.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from lb.rules.txn import Txn
from lb.sticktables import tracking
from lb.sticktables.tracking import REJECT, SILENT_DROP, silent_drop
from workers import tcpend, tcpsplice
from workers.buffer import WOULD_BLOCK, OutBuffer
from workers.connector import Connector, ConnectorOwner
from workers.runtime import C_DENIED, BackendRuntime, ServerRuntime
from workers.splice import AUTO, Pipe
from workers.traffic import ContentInspection, backend_content

if TYPE_CHECKING:
    from workers.client import ClientConn
    from workers.loop import Timer

READ, WRITE = 1, 2


class TcpSession(ConnectorOwner):
    def __init__(self, client: ClientConn) -> None:
        self.request = None  # what keyed balancing reads: mode tcp has no HTTP request
        self.client = client
        self.loop = client.loop
        self.worker = client.worker
        self.frontend = client.frontend
        self.sock = client.sock
        self.server_sock: socket.socket | None = None
        self.server: ServerRuntime | None = None
        self.backend: BackendRuntime | None = None
        self.connector: Connector | None = None
        self.to_server: OutBuffer | None = None  # client -> server bytes not yet written
        self.to_client = OutBuffer(self.sock)
        self.client_eof = False
        self.server_eof = False
        self.server_mask = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.last_client = self.last_server = self.loop.now
        self.client_timeout = self.server_timeout = 0.0
        self.timer: Timer | None = None
        self.rt = 0
        self.closed = False
        self.txn: Txn | None = None  # the rules' view of the stream, when a rule or table needs one
        self.early: bytes = b""  # bytes read while tcp-request content rules waited, sent first
        self.early_eof = False  # ... and the client closed meanwhile
        self.splice = 0  # workers/splice.py policy bits, set once connected
        self.pipe_up: Pipe | None = None  # client -> server bytes spliced, not yet written
        self.pipe_down: Pipe | None = None  # server -> client
        self.large_up = self.large_down = 0  # consecutive full reads (splice-auto)

    # -- establishing --------------------------------------------------------

    def start(self) -> None:
        """The connection's facts are final: inspect the first bytes if rules want
        them (workers/traffic.py), route, then get a server."""
        worker, frontend = self.worker, self.frontend
        worker.request_counter += 1
        self.rt = worker.request_counter  # %rt: this stream's number in the worker
        rules = frontend.tcp_rules
        if rules is not None or frontend.has_switching:
            self.txn = Txn(self.client.facts, None, frontend.conf)
        if rules is not None and rules.content_program:
            limit = worker.config.global_.bufsize  # HAProxy's buffer: the rules get at most that much
            ContentInspection(self, limit).start(tracking.inspect_delay(frontend.conf))
            return
        self.route()

    def inspected(self, verdict: str, data: bytes, eof: bool) -> None:
        """The content rules decided on the first bytes (ContentInspection)."""
        self.early, self.early_eof = data, eof
        if verdict == REJECT or verdict == SILENT_DROP:
            self.refuse(verdict)
            return
        self.route()

    def refuse(self, verdict: str) -> None:
        """A tcp-request content rule refused the stream: logged `PR`, counted as denied."""
        if verdict == SILENT_DROP:
            silent_drop(self.sock)
        self.frontend.count(C_DENIED)
        self.finish("PR")

    def route(self) -> None:
        frontend = self.frontend
        backend = frontend.static_backend
        if backend is None and frontend.has_switching:
            assert self.txn is not None  # start() made it
            backend = frontend.route(self.txn)
        if backend is None:
            self.finish("PR")
            return
        self.backend = backend
        backend.stream_assigned()
        forced = None
        if backend.tcp_rules is not None:
            verdict = self.backend_rules(backend)
            if verdict == REJECT or verdict == SILENT_DROP:
                self.refuse(verdict)
                return
            forced = self.forced_server(backend)
        facts = self.client.facts
        proxy_addresses = ((facts.client_ip, facts.client_port), (facts.dst_ip, facts.dst_port))
        self.connector = Connector(self.loop, backend, self, self, proxy_addresses, facts.dst_port, forced)
        self.connector.start()

    def backend_rules(self, backend: BackendRuntime) -> str:
        if self.txn is None:
            self.txn = Txn(self.client.facts, None, self.frontend.conf)
        self.txn.backend = backend.conf
        return backend_content(self, self.early)

    def forced_server(self, backend: BackendRuntime) -> ServerRuntime | None:
        """`use-server`, then `stick match|on` (lb.sticktables.tracking.choose_server)."""
        by_name = backend.by_name
        chosen = tracking.choose_server(self.txn, backend.conf, lambda conf: by_name[conf.name].is_usable())
        return by_name[chosen.name] if chosen is not None else None

    @property
    def client_ip(self) -> str:
        """For `balance source` (the Connector's key)."""
        return self.client.facts.client_ip

    def reuse_connection(self, server: ServerRuntime) -> bool:
        return False  # every TCP stream has its own server connection

    def on_connected(self, sock: socket.socket | None, server: ServerRuntime) -> None:
        assert sock is not None  # reuse_connection() never offers one
        self.server_sock, self.server = sock, server
        self.to_server = OutBuffer(sock)
        self.last_client = self.last_server = self.loop.now
        if self.txn is not None and server.backend.tcp_rules is not None:
            tracking.server_connected(self.txn, server.conf)  # stick store-request / store-response
        if self.early and not self.to_server.write(self.early):  # what the content rules read
            self.finish("SC")
            return
        if self.early_eof:
            self.on_eof(True)
        self.splice = self.splice_policy()
        self.update_masks()
        self.arm_timer()

    def splice_policy(self) -> int:
        """Which directions may be spliced (either proxy's options, worked out once per
        proxy by workers/runtime.py): none when a side speaks TLS."""
        if self.client.facts.ssl or self.backend is None:
            return 0
        return self.frontend.splice | self.backend.splice

    def on_connect_failed(self, term: str) -> None:
        self.finish(term)

    # -- relaying ------------------------------------------------------------

    def on_client_event(self, mask: int) -> None:
        if mask & READ and not self.closed:
            self.pump(client_side=True)
        if mask & WRITE and not self.closed:
            self.flush(client_side=False)

    def on_server_event(self, mask: int) -> None:
        if mask & READ and not self.closed:
            self.pump(client_side=False)
        if mask & WRITE and not self.closed:
            self.flush(client_side=True)

    def pump(self, client_side: bool) -> None:
        """Read one chunk from a side and write as much as possible to the other.

        Reads land in the worker's shared scratch buffer (no allocation per
        read); only the unsent tail of a partial write is copied out."""
        if self.splice:
            pipe = self.pipe_up if client_side else self.pipe_down
            if pipe is not None or tcpsplice.take_pipe(self, client_side):
                tcpsplice.relay(self, client_side)
                return
        src, out = (self.sock, self.to_server) if client_side else (self.server_sock, self.to_client)
        assert src is not None and out is not None
        scratch = self.worker.scratch
        try:
            size = src.recv_into(scratch)
        except WOULD_BLOCK:
            return
        except OSError:
            self.finish("CD" if client_side else "SD")
            return
        if not self.count_read(client_side, size):
            return
        if self.splice & AUTO:
            tcpsplice.note_read(self, client_side, size)
        if not out.write_view(scratch[:size]):
            self.finish("SD" if client_side else "CD")
            return
        if out.chunks:
            self.update_masks()

    def count_read(self, client_side: bool, size: int) -> bool:
        """Stamp a read of `size` bytes (copied or spliced) and count them; False when it
        was the end of that side's stream (handled here)."""
        now = self.loop.now
        if not size:
            if client_side:
                self.last_client = now
            else:
                self.last_server = now
            self.on_eof(client_side)
            return False
        self.last_client = self.last_server = now
        if client_side:
            self.bytes_in += size
        else:
            self.bytes_out += size
        return True

    # -- writing -------------------------------------------------------------------

    def flush(self, client_side: bool) -> None:
        """Write the pending bytes of one direction (client_side: client -> server)."""
        out = self.to_server if client_side else self.to_client
        if out is None:
            return
        if out.chunks:
            if not out.flush():
                self.finish("SD" if client_side else "CD")
                return
        elif self.pipe_up is not None or self.pipe_down is not None:
            if not tcpsplice.flush(self, client_side):
                return
        else:
            return
        if client_side:
            self.last_server = self.loop.now
        else:
            self.last_client = self.loop.now
        if not (self.pending_up() if client_side else self.pending_down()):
            eof = self.client_eof if client_side else self.server_eof
            if eof:
                self.shutdown_write(self.server_sock if client_side else self.sock)
            self.update_masks()
            self.maybe_done()

    def on_eof(self, client_side: bool) -> None:
        if client_side:
            self.client_eof = True
            if self.to_server is not None and not self.pending_up():
                self.shutdown_write(self.server_sock)
        else:
            self.server_eof = True
            if not self.pending_down():
                self.shutdown_write(self.sock)
        self.update_masks()
        self.maybe_done()

    @staticmethod
    def shutdown_write(sock: socket.socket | None) -> None:
        try:
            if sock is not None:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def pending_up(self) -> bool:
        """Client bytes not yet written to the server (in the OutBuffer or the pipe)."""
        pipe = self.pipe_up
        if pipe is not None and pipe.pending:
            return True
        return self.to_server is not None and bool(self.to_server.chunks)

    def pending_down(self) -> bool:
        """Server bytes not yet written to the client."""
        pipe = self.pipe_down
        return bool(self.to_client.chunks) or (pipe is not None and pipe.pending > 0)

    def maybe_done(self) -> None:
        if self.client_eof and self.server_eof and not self.pending_up() and not self.pending_down():
            self.finish("--")

    def update_masks(self) -> None:
        """Read a side only while nothing it sent is pending; write while bytes wait for it."""
        to_server_pending, to_client_pending = self.pending_up(), self.pending_down()
        client_mask = (0 if self.client_eof or to_server_pending else READ) | (WRITE if to_client_pending else 0)
        self.client.set_mask(client_mask, self.on_client_event)
        server_mask = (0 if self.server_eof or to_client_pending else READ) | (WRITE if to_server_pending else 0)
        sock = self.server_sock
        if server_mask != self.server_mask and sock is not None:
            if not self.server_mask:
                self.loop.register(sock, server_mask, self.on_server_event)
            elif not server_mask:
                self.loop.unregister(sock)
            else:
                self.loop.modify(sock, server_mask, self.on_server_event)
            self.server_mask = server_mask

    # -- timeouts --------------------------------------------------------------

    def arm_timer(self) -> None:
        timeouts, be = self.frontend.timeouts, self.backend.timeouts if self.backend else None
        tunnel = be.tunnel if be else None
        self.client_timeout = (tunnel or timeouts.client or 0) / 1000
        self.server_timeout = (tunnel or (be.server if be else 0) or 0) / 1000
        self.reschedule()

    def reschedule(self) -> None:
        deadlines = []
        if self.client_timeout:
            deadlines.append(self.last_client + self.client_timeout)
        if self.server_timeout:
            deadlines.append(self.last_server + self.server_timeout)
        if deadlines:
            self.timer = self.loop.call_at(min(deadlines), self.on_timer)

    def on_timer(self) -> None:
        """A side times out only when lb waits on it: a side paused because the other
        does not take its data is not inactive (backpressure is not a timeout)."""
        if self.closed:
            return
        now = self.loop.now
        if self.pending_up():  # waiting for the server to take data: the client is paused
            self.last_client = now
        if self.pending_down():  # waiting for the client: the server is paused
            self.last_server = now
        if self.client_timeout and now >= self.last_client + self.client_timeout:
            self.finish("cD")
        elif self.server_timeout and now >= self.last_server + self.server_timeout:
            self.finish("sD")
        else:
            self.reschedule()

    # -- ending ----------------------------------------------------------------

    def finish(self, term: str) -> None:
        """End the stream once: release the server side, close the client, log, uncount."""
        if self.closed:
            return
        self.closed = True
        client = self.client
        try:
            self.release()
            client.release()
            logger = self.frontend.logger
            if logger is not None and logger.enabled:
                record = client.base_record()
                tcpend.fill_record(self, record, term)
                logger.log(record)
            txn = self.txn
            if txn is not None and (txn.stkctr is not None or txn.facts.stkctr is not None):
                tracking.transferred(txn, self.bytes_in, self.bytes_out)
                tracking.stream_end(txn)  # after the log line: %[sc_*] still sees the counters
        finally:
            client.accounting_done()

    def release(self) -> None:
        """Close the server side and give back its slot (before logging, as HAProxy)."""
        if self.timer is not None:
            self.timer.cancel()
        if self.connector is not None:
            self.connector.cancel()
        if self.pipe_up is not None or self.pipe_down is not None:
            tcpsplice.release(self)
        if self.server_sock is not None:
            if self.server_mask:
                self.loop.unregister(self.server_sock)
            self.server_sock.close()
            self.server_sock = None
        tcpend.count_stream(self)

    # -- worker and loop hooks ------------------------------------------------------

    def on_soft_stop(self) -> None:
        """Graceful stop: a TCP stream in flight runs to its end."""

    def target(self) -> tuple[str | None, str | None]:
        backend, server = self.backend, self.server
        return (backend.name if backend is not None else None, server.name if server is not None else None)

    def on_server(self, index: int) -> bool:
        server = self.server
        return server is not None and server.index == index

    def kill(self) -> None:
        """`shutdown session(s)`: HAProxy's SF_ERR_KILLED, in the phase the stream is in."""
        self.finish("KD" if self.server is not None else "KC" if self.backend is not None else "KR")

    def internal_error(self) -> None:
        """A bug in one of our callbacks (reported by the loop): end the stream, logged `I`."""
        self.finish("ID")

    def abort(self) -> None:
        """A failure while starting (reported by the listener): end without a line."""
        if self.closed:
            return
        self.closed = True
        try:
            self.release()
        finally:
            self.client.close()

