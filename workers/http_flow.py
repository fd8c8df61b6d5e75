"""mode http: timeouts and the WebSocket/Upgrade tunnel of a session (worker).

FlowControl is mixed into HttpSession.  A session has one timer and one
deadline whose meaning depends on its phase ("request", "keepalive",
"server", "server-data", "tunnel"); inactivity deadlines are moved lazily:
I/O only stamps `last_*_io`, and the timer re-arms itself when it fires
early.
"""

from __future__ import annotations

import socket
from typing import Any

from workers.http_txn import HttpTxn


class FlowControl:
    last_client_io = 0.0
    last_server_io = 0.0

    # -- deadlines -----------------------------------------------------------

    def set_deadline(self, kind: str, start: float, timeout_ms: int | None) -> None:
        """Enter a phase with its deadline.  The session's single timer is only
        re-armed when the new deadline is earlier than the armed one; a timer
        firing early re-arms itself (most phases move the deadline later)."""
        self.deadline_kind = kind
        if not timeout_ms:
            self.deadline = 0.0
            return
        self.deadline_timeout = timeout_ms / 1000
        self.deadline = deadline = start + self.deadline_timeout
        self.last_client_io = self.last_server_io = start
        timer = self.timer
        if timer is None or timer.when > deadline:
            if timer is not None:
                timer.cancel()
            self.timer = self.loop.call_at(deadline, self.on_deadline)

    def on_deadline(self) -> None:
        self.timer = None
        kind = self.deadline_kind
        if self.closed or not kind or not self.deadline:
            return
        due = self.deadline
        if kind == "server-data" and self.conn is not None and not self.conn.reading:
            # the server is paused because the client does not take the data: it is
            # the client's inactivity that counts now (timeout client, cD)
            client_timeout = (self.frontend.timeouts.client or 0) / 1000
            due = self.last_client_io + client_timeout if client_timeout else self.loop.now + self.deadline_timeout
            if self.loop.now < due:
                self.timer = self.loop.call_at(due, self.on_deadline)
                return
            self.deadline = 0.0
            self.abort_response(self.txns[0], "cD")
            return
        if kind in ("server", "server-data"):
            due = max(due, self.last_server_io + self.deadline_timeout)
        elif kind == "tunnel":
            due = max(due, max(self.last_server_io, self.last_client_io) + self.deadline_timeout)
        if self.loop.now < due:
            self.timer = self.loop.call_at(due, self.on_deadline)
            return
        self.deadline = 0.0
        getattr(self, "expired_" + kind.replace("-", "_"))()

    def expired_request(self) -> None:
        """timeout http-request: 408, logged cR (HAProxy)."""
        txn = self.txns[0] if self.txns else None
        if txn is None:
            txn = HttpTxn(-1.0, 0)  # nothing received
            self.txns.append(txn)
        self.parse_error = True
        self.reject(txn, 408, "cR")

    def expired_keepalive(self) -> None:
        self.finish_quietly()

    def expired_server(self) -> None:
        """timeout server before the response headers: 504, logged sH."""
        txn = self.txns[0] if self.txns else None
        if txn is not None and txn.status < 0:
            self.server_failed(txn, 504, "sH")

    def expired_server_data(self) -> None:
        txn = self.txns[0] if self.txns else None
        if txn is not None and not txn.resp_done:
            self.abort_response(txn, "sD")

    def expired_tunnel(self) -> None:
        txn = self.txns[0] if self.txns else None
        if txn is not None:
            txn.term = "cD" if self.last_client_io <= self.last_server_io else "sD"
            self.end_tunnel(txn)

    # -- tunnel (after a 101 to an Upgrade request) ------------------------------

    def start_tunnel(self, txn: Any) -> None:
        self.tunnel = True
        self.tunnel_eof = set()
        early = txn.early_tunnel_data
        if early:
            self.conn.send(early)
        timeouts = txn.backend.timeouts
        timeout = timeouts.tunnel or min(filter(None, (timeouts.server, self.frontend.timeouts.client)), default=0)
        self.set_deadline("tunnel", self.loop.now, timeout)
        self.update_client_mask()

    def tunnel_to_server(self, data: bytes) -> None:
        self.last_client_io = self.loop.now
        self.conn.send(data)
        self.update_client_mask()

    def tunnel_client_eof(self) -> None:
        self.tunnel_eof.add("client")
        try:
            self.conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        self.tunnel_maybe_done()

    def tunnel_server_eof(self) -> None:
        self.tunnel_eof.add("server")
        self.conn.pause_reading(True)
        if not self.out:
            try:
                self.client.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        self.tunnel_maybe_done()

    def tunnel_maybe_done(self) -> None:
        if len(self.tunnel_eof) == 2 and self.txns:
            self.end_tunnel(self.txns[0])

    def end_tunnel(self, txn: Any) -> None:
        txn.resp_done = txn.complete = True
        txn.close_after = True
        self.drop_server_conn()
        self.end_txn(txn)
