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


class FlowControl:
    last_client_io = 0.0
    last_server_io = 0.0

    # -- deadlines -----------------------------------------------------------

    def set_deadline(self, kind: str, start: float, timeout_ms: int | None) -> None:
        self.deadline_kind = kind
        self.deadline_timeout = (timeout_ms or 0) / 1000
        if not kind or not timeout_ms:
            self.deadline = 0.0
            return
        self.deadline = start + self.deadline_timeout
        self.last_client_io = self.last_server_io = start
        timer = self.timer
        if timer is None or timer.cancelled or timer.when > self.deadline:
            if timer is not None:
                timer.cancel()
            self.timer = self.loop.call_at(self.deadline, self.on_deadline)

    def on_deadline(self) -> None:
        self.timer = None
        if self.closed or not self.deadline:
            return
        kind, now = self.deadline_kind, self.loop.now
        if kind in ("server", "server-data", "tunnel"):
            last = self.last_server_io if kind != "tunnel" else max(self.last_server_io, self.last_client_io)
            due = max(self.deadline, last + self.deadline_timeout)
            if now < due:
                self.timer = self.loop.call_at(due, self.on_deadline)
                return
        elif now < self.deadline:
            self.timer = self.loop.call_at(self.deadline, self.on_deadline)
            return
        self.deadline = 0.0
        getattr(self, "expired_" + kind.replace("-", "_"))()

    def expired_request(self) -> None:
        """timeout http-request: 408, logged cR (HAProxy)."""
        txn = self.txns[0] if self.txns else None
        if txn is None:
            from workers.http_txn import HttpTxn

            txn = HttpTxn(self.loop.now, self.accept_date, 0)
            txn.begin = -1.0
            self.txns.append(txn)
        txn.term = "cR"
        self.parse_error = "timeout"
        self.send_error(txn, 408, close=True)

    def expired_keepalive(self) -> None:
        self.finish_quietly()

    def expired_server(self) -> None:
        """timeout server before the response headers: 504, logged sH."""
        txn = self.txns[0] if self.txns else None
        if txn is None or txn.response is not None:
            return
        txn.term = "sH"
        self.server_failed(txn, 504)

    def expired_server_data(self) -> None:
        txn = self.txns[0] if self.txns else None
        if txn is not None and not txn.resp_done:
            txn.term = "sD"
            self.abort_response(txn)

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
