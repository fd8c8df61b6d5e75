"""The relay after a 101 Switching Protocols: WebSocket and other Upgrades (worker).

Once a server grants an Upgrade, the HTTP/1 connection carries opaque bytes
both ways until both sides have closed, like a mode tcp stream: the client
connection forwards what it reads to `from_client`, the exchange forwards
what the server sends to `from_server`.  Half-closes are propagated; the
deadline's TUNNEL phase (`timeout tunnel`, else the smaller of `timeout
server` and `timeout client`) ends an inactive tunnel, logged `cD` or `sD`
after the side that went quiet first.  HAProxy counts the tunnelled server
bytes in %B.
"""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING

from workers.http.deadlines import TUNNEL

if TYPE_CHECKING:
    from workers.http.exchange import Exchange
    from workers.http.h1 import H1Connection
    from workers.http.serverconn import ServerConn


class Tunnel:
    __slots__ = ("ex", "client", "conn", "client_eof", "server_eof")

    def __init__(self, ex: Exchange, client: H1Connection, conn: ServerConn) -> None:
        self.ex = ex
        self.client = client
        self.conn = conn
        self.client_eof = False
        self.server_eof = False

    def start(self, early: bytes) -> None:
        """Bytes the client sent after its Upgrade request go first."""
        if early:
            self.conn.send(early)
        assert self.ex.backend is not None
        timeouts = self.ex.backend.timeouts
        client_timeout = self.client.frontend.timeouts.client
        timeout = timeouts.tunnel or min(filter(None, (timeouts.server, client_timeout)), default=0)
        self.client.deadline.enter(TUNNEL, self.client.loop.now, timeout)
        self.client.refresh_interest()

    def from_client(self, data: bytes) -> None:
        self.client.deadline.client_io = self.client.loop.now
        self.conn.send(data)

    def from_server(self, data: bytes) -> None:
        self.ex.resp_payload += len(data)  # HAProxy counts tunnelled bytes in %B
        self.client.send(data)

    def client_closed(self) -> None:
        self.client_eof = True
        try:
            self.conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.maybe_done()

    def server_closed(self) -> None:
        self.server_eof = True
        self.conn.pause_reading(True)
        if not self.client.out.chunks:
            self.client.shutdown_write()
        self.maybe_done()

    def client_drained(self) -> None:
        """The client took everything: a server half-close can now be passed on."""
        if self.server_eof:
            self.client.shutdown_write()

    def maybe_done(self) -> None:
        if self.client_eof and self.server_eof:
            self.end("--")

    def expired(self) -> None:
        deadline = self.client.deadline
        self.end("cD" if deadline.client_io <= deadline.server_io else "sD")

    def end(self, term: str) -> None:
        ex = self.ex
        if term != "--":
            ex.term = term
        ex.resp_done = ex.complete = True
        ex.close_after = True
        ex.drop_server_conn()
        self.client.exchange_done(ex)
