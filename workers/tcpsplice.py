"""A mode tcp stream's spliced directions: pipes taken, filled, drained and given back (worker).

Functions of a TcpSession (workers/tcp.py: its `splice` bits, `pipe_up`,
`pipe_down`, `large_up`, `large_down`) over workers/splice.py's pipes.  A
direction takes a pipe when the policy splices it (at once, or once
splice-auto has seen a fast streamer) and its OutBuffer is empty: bytes
already copied go first.  Bytes are counted by the session as they enter
the pipe, exactly as on the copying path.  Apart from workers/tcp.py
because they cimport its class, which workers/splice.py (imported by
workers/runtime.py) must not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workers.buffer import WOULD_BLOCK
from workers.splice import AUTO, REQUEST, RESPONSE, STREAMER_READS, drain, fill, pool_for

if TYPE_CHECKING:
    from workers.tcp import TcpSession

RELAY_ROUNDS = 16  # pipes moved per event and direction at most (16 x 64k = 1 MiB): other streams wait


def take_pipe(session: TcpSession, client_side: bool) -> bool:
    """Give a direction the policy splices (now, or as a fast streamer) a pipe; False to copy."""
    bits = session.splice
    if client_side:
        wanted = bits & REQUEST or (bits & AUTO and session.large_up >= STREAMER_READS)
        out = session.to_server
    else:
        wanted = bits & RESPONSE or (bits & AUTO and session.large_down >= STREAMER_READS)
        out = session.to_client
    if not wanted or out is None or out.chunks:  # copied bytes wait in the OutBuffer: they go first
        return False
    pipe = pool_for(session.worker).get()
    if pipe is None:  # maxpipes reached or no descriptor left: copy this time
        return False
    if client_side:
        session.pipe_up = pipe
    else:
        session.pipe_down = pipe
    return True


def note_read(session: TcpSession, client_side: bool, size: int) -> None:
    """splice-auto: count the consecutive copied reads that filled a buffer (tune.bufsize)."""
    large = size >= session.worker.config.global_.bufsize
    if client_side:
        session.large_up = session.large_up + 1 if large else 0
    else:
        session.large_down = session.large_down + 1 if large else 0


def relay(session: TcpSession, client_side: bool) -> None:
    """The session's pump() through the direction's pipe: what the source has, into the
    pipe, then out; again while the pipe filled and emptied (RELAY_ROUNDS at most)."""
    pipe = session.pipe_up if client_side else session.pipe_down
    server_sock = session.server_sock
    assert pipe is not None and server_sock is not None  # a pipe is taken once connected
    client_fd, server_fd = session.sock.fileno(), server_sock.fileno()
    src_fd, dst_fd = (client_fd, server_fd) if client_side else (server_fd, client_fd)
    for _ in range(RELAY_ROUNDS):
        try:
            size = fill(src_fd, pipe)
        except WOULD_BLOCK:
            return
        except OSError:
            session.finish("CD" if client_side else "SD")
            return
        if not session.count_read(client_side, size):
            return
        try:
            emptied = drain(pipe, dst_fd)
        except OSError:
            session.finish("SD" if client_side else "CD")
            return
        if not emptied:
            session.update_masks()
            return
        if size < pipe.size:  # the source had less than a pipe: wait for the next event
            return


def flush(session: TcpSession, client_side: bool) -> bool:
    """Write what a direction's pipe holds; False when the stream ended on an error."""
    pipe, dst = (session.pipe_up, session.server_sock) if client_side else (session.pipe_down, session.sock)
    if pipe is None or not pipe.pending or dst is None:
        return True
    try:
        drain(pipe, dst.fileno())
    except OSError:
        session.finish("SD" if client_side else "CD")
        return False
    return True


def release(session: TcpSession) -> None:
    """The stream is over: its pipes go back to the pool."""
    pool = pool_for(session.worker)
    for pipe in (session.pipe_up, session.pipe_down):
        if pipe is not None:
            pool.put(pipe)
    session.pipe_up = session.pipe_down = None
