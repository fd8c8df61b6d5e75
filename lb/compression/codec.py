"""Streaming encoders of response bodies, on the standard library's zlib (worker).

One encoder per compressed response.  Each piece of body the server sends
is compressed and flushed at once (Z_SYNC_FLUSH), as HAProxy flushes after
every data block it compresses, so a streamed response keeps flowing and a
client can decode everything received so far; the end of the message
finishes the stream (Z_FINISH: the last block, and the gzip or zlib
trailer).  Memory per encoder is zlib's state, fixed by the window bits
and memLevel (tune.zlib.windowsize, tune.zlib.memlevel), plus the output
of one piece, which is never larger than the piece by more than a few
bytes per 16 KiB: nothing accumulates.
"""

from __future__ import annotations

import zlib

# zlib's wbits for each algorithm: gzip wraps the deflate stream in a gzip
# header and trailer (16 + bits), deflate in zlib's (bits), raw-deflate in none (-bits).
WRAPPERS = {"gzip": 16, "deflate": 0, "raw-deflate": -1}
DEFLATE_STATE = 6 * 1024  # zlib's deflate_state and friends, beside the window and hash tables


def deflate_memory(window_bits: int, mem_level: int) -> int:
    """What one deflate stream allocates (zlib.h: window and hash tables), bytes."""
    return (1 << (window_bits + 2)) + (1 << (mem_level + 9)) + DEFLATE_STATE


class Encoder:
    """A zlib stream: gzip, deflate or raw-deflate."""

    __slots__ = ("stream",)

    def __init__(self, algorithm: str, level: int, window_bits: int, mem_level: int) -> None:
        wrapper = WRAPPERS[algorithm]
        wbits = -window_bits if wrapper < 0 else window_bits + wrapper
        self.stream = zlib.compressobj(level, zlib.DEFLATED, wbits, mem_level)

    def feed(self, data: bytes) -> bytes:
        """Compress a piece of body and flush it: never empty for a non-empty piece
        (a sync flush ends with an empty stored block)."""
        stream = self.stream
        return stream.compress(data) + stream.flush(zlib.Z_SYNC_FLUSH)

    def finish(self) -> bytes:
        return self.stream.flush(zlib.Z_FINISH)


class IdentityEncoder:
    """`compression algo identity`: the body passes unchanged (HAProxy's debugging algorithm)."""

    __slots__ = ()

    def feed(self, data: bytes) -> bytes:
        return data

    def finish(self) -> bytes:
        return b""


def new_encoder(algorithm: str, level: int, window_bits: int, mem_level: int) -> Encoder | IdentityEncoder:
    if algorithm == "identity":
        return IdentityEncoder()
    return Encoder(algorithm, level, window_bits, mem_level)


def encoder_memory(algorithm: str, window_bits: int, mem_level: int) -> int:
    return 0 if algorithm == "identity" else deflate_memory(window_bits, mem_level)
