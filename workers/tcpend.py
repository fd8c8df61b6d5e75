"""How a mode tcp stream ends: what it adds to the counters, its tcplog line (worker).

Functions of a TcpSession (workers/tcp.py), called once per stream from
its release() and finish(), and the line of a connection that never became
a stream (`log_unstarted`: the PROXY header or the TLS handshake failed).
Apart from workers/tcp.py because they cimport its class.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workers.counting import BYTES_IN, BYTES_OUT, SESSIONS, T_CONNECT, T_COUNT, T_QUEUE, T_TOTAL

if TYPE_CHECKING:
    from lb.logs.record import LogRecord
    from workers.client import ClientConn
    from workers.tcp import TcpSession


def count_stream(session: TcpSession) -> None:
    """The stream's bytes and timers in the frontend's, server's and backend's tallies, and the
    server's and backend's connections released (before logging, as HAProxy)."""
    tally = session.frontend.tally
    tally[BYTES_IN] += session.bytes_in
    tally[BYTES_OUT] += session.bytes_out
    counts = session.client.counts
    if counts is not None:
        counts.add_bytes(session.bytes_in, session.bytes_out)
    server, backend = session.server, session.backend
    if server is not None:  # its backend's share is added from its tally (workers/counting.py)
        tally = server.tally
        tally[SESSIONS] += 1
        tally[BYTES_IN] += session.bytes_in
        tally[BYTES_OUT] += session.bytes_out
        connector = session.connector
        if connector is not None and connector.t_connect >= 0:  # HAProxy: t_data is t_connect in tcp
            tally[T_COUNT] += 1
            tally[T_QUEUE] += max(connector.t_queue, 0)
            tally[T_CONNECT] += connector.t_connect
            tally[T_TOTAL] += int((session.loop.now - session.client.accept_time) * 1000)
        server.drop_conn()
    if backend is not None:
        backend.stream_released()
        if server is None:
            tally = backend.tally
            tally[SESSIONS] += 1
            tally[BYTES_IN] += session.bytes_in
            tally[BYTES_OUT] += session.bytes_out


def fill_record(session: TcpSession, record: LogRecord, term: str) -> None:
    """The tcplog fields only the stream knows: backend, server, timers, bytes, counts."""
    connector = session.connector
    record.backend = session.backend.name if session.backend else None
    tried = session.server or (connector.server if connector is not None else None)
    record.server = tried.name if tried else None  # HAProxy names the last server tried
    if tried is not None:
        record.server_ip, record.server_port = tried.address
    record.t_queue = connector.t_queue if connector else -1
    record.t_connect = connector.t_connect if connector else -1
    if connector is not None:
        record.retries, record.redispatched = connector.retries_done, connector.redispatched
    record.bytes_out, record.bytes_in = session.bytes_out, session.bytes_in
    record.term_state = term
    record.srvconn = session.server.current_conns() if session.server else 0
    record.beconn = session.backend.current_conns() if session.backend else 0
    record.backend_queue = len(session.backend.queue) if session.backend else 0
    record.request_counter = session.rt
    record.rules_txn = session.txn


def log_unstarted(client: ClientConn, term: str) -> None:
    """The tcplog line of a connection that failed before its session started
    (PROXY header, TLS handshake): no backend, no server."""
    logger = client.frontend.logger
    if logger is None or not logger.enabled:
        return
    record = client.base_record()
    record.term_state = term
    record.t_queue = record.t_connect = -1
    logger.log(record)
