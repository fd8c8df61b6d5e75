"""Where the engine calls traffic control: tcp-request rules, stick tables, tarpit (worker).

lb.sticktables.tracking holds the rules and counters; this module is the
engine's side of it, called by the client connection, the TCP session and
the HTTP exchange at the moments tracking.py names.  Everything is behind
a test of whether the proxy has such rules at all, so a configuration
without tcp-request rules or stick tables pays one attribute test per
connection.

`ContentInspection` is mode tcp's `tcp-request inspect-delay` /
`tcp-request content`: the first bytes of a stream are read into a bounded
buffer until the rules decide (or the delay ends, the buffer is full, the
client closes); then the session routes with what was read (req.ssl_sni,
req.payload...) and sends those bytes to the server first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lb.rules.tcp_model import TcpSettings
from lb.sticktables import tracking
from lb.sticktables.tracking import ACCEPT, NEED_MORE, REJECT, SILENT_DROP

if TYPE_CHECKING:
    from workers.client import ClientConn
    from workers.loop import Timer
    from workers.tcp import TcpSession

READ = 1
AREA = tracking.AREA


def tcp_settings(conf: Any) -> TcpSettings | None:
    """A proxy's tcp-request / stick / use-server settings, None when it has none that act."""
    settings = conf.areas.get(AREA)
    if settings is None:
        return None
    acts = (settings.connection_program or settings.session_program or settings.content_program
            or settings.stick_rules or settings.store_response_rules or settings.server_rules)  # fmt: skip
    return settings if acts else None


def refused(client: ClientConn, verdict: str, counter: int) -> bool:
    """End a connection a tcp-request connection/session rule refused (no log line, as HAProxy)."""
    if verdict != REJECT and verdict != SILENT_DROP:
        return False
    if verdict == SILENT_DROP:
        tracking.silent_drop(client.sock)
    client.frontend.count(counter)
    client.close()
    return True


def connection_refused(client: ClientConn, counter: int) -> bool:
    """`tcp-request connection` rules, right after accept; True when the connection was closed."""
    return refused(client, tracking.connection_accepted(client.frontend.conf, client.facts), counter)


def session_refused(client: ClientConn, counter: int) -> bool:
    """`tcp-request session` rules, once the PROXY header and TLS handshake are done."""
    return refused(client, tracking.session_started(client.frontend.conf, client.facts), counter)


class ContentInspection:
    """The first bytes of a mode tcp stream, held until `tcp-request content` rules decide."""

    def __init__(self, session: TcpSession, limit: int) -> None:
        self.session = session
        self.limit = limit  # tune.bufsize: the buffer is full, the rules get what is there
        self.data = bytearray()
        self.eof = False
        self.timer: Timer | None = None
        self.done = False

    def start(self, delay_ms: int | None) -> None:
        session = self.session
        if delay_ms:
            self.timer = session.loop.call_later(delay_ms / 1000, self.expired)
        session.client.set_mask(READ, self.on_readable)
        self.evaluate(final=not delay_ms)

    def on_readable(self, mask: int) -> None:
        try:
            chunk = self.session.sock.recv(max(1, self.limit - len(self.data)))
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if chunk:
            self.data += chunk
            self.session.bytes_in += len(chunk)
        else:
            self.eof = True
        self.evaluate(final=self.eof or len(self.data) >= self.limit)

    def expired(self) -> None:
        self.timer = None
        self.evaluate(final=True)

    def evaluate(self, final: bool) -> None:
        """Run the frontend's content rules on what was read; route when they decide."""
        if self.done:
            return
        session = self.session
        verdict = tracking.content_rules(session.frontend.conf, session.txn, bytes(self.data), final)
        if verdict == NEED_MORE:
            if self.eof:  # nothing more will come: the rules get their final say
                self.evaluate(final=True)
            return
        self.done = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        session.client.set_mask(0, self.on_readable)
        session.inspected(verdict, bytes(self.data), self.eof)


def backend_content(session: TcpSession, data: bytes) -> str:
    """The backend's own content rules, when it has some (HAProxy runs them once routed)."""
    backend = session.backend
    if backend is None or backend.conf is session.frontend.conf or not tracking.has_content_rules(backend.conf):
        return ACCEPT
    return tracking.content_rules(backend.conf, session.txn, data, True)
