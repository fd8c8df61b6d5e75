"""The streaming encoders and the per-worker ceilings (tests only; no sockets)."""

from __future__ import annotations

import zlib

import pytest

from lb.compression.budget import Budget, RateCounter
from lb.compression.codec import deflate_memory, encoder_memory, new_encoder
from lb.compression.model import CompressionLimits

PIECES = [b"first piece, ", b"a" * 70000, bytes(range(256)) * 40, b"end\n"]
WBITS = {"gzip": 16 + 15, "deflate": 15, "raw-deflate": -15}


@pytest.mark.parametrize("algorithm", ["gzip", "deflate", "raw-deflate"])
def test_every_piece_decodes_as_soon_as_it_is_sent(algorithm: str) -> None:
    encoder = new_encoder(algorithm, 1, 15, 8)
    decoder = zlib.decompressobj(WBITS[algorithm])
    for piece in PIECES:
        out = encoder.feed(piece)
        assert out, "a flushed piece is never empty"
        assert decoder.decompress(out) == piece  # a streaming client is never kept waiting
    decoder.decompress(encoder.finish())
    assert decoder.eof and not decoder.unused_data


@pytest.mark.parametrize("algorithm", ["gzip", "deflate", "raw-deflate"])
def test_whole_stream_is_the_body(algorithm: str) -> None:
    encoder = new_encoder(algorithm, 1, 15, 8)
    stream = b"".join(encoder.feed(p) for p in PIECES) + encoder.finish()
    assert zlib.decompress(stream, WBITS[algorithm]) == b"".join(PIECES)
    assert len(stream) < len(b"".join(PIECES)) // 2


def test_an_empty_body_is_a_valid_empty_stream() -> None:
    assert zlib.decompress(new_encoder("gzip", 1, 15, 8).finish(), 31) == b""


def test_identity_passes_bytes_through() -> None:
    encoder = new_encoder("identity", 1, 15, 8)
    assert [encoder.feed(p) for p in PIECES] == PIECES and encoder.finish() == b""
    assert encoder_memory("identity", 15, 8) == 0


def test_tuning_is_applied_and_memory_estimated() -> None:
    small = new_encoder("gzip", 9, 9, 1)
    data = b"abcdefgh" * 4096
    assert zlib.decompress(small.feed(data) + small.finish(), 31) == data
    assert deflate_memory(15, 8) > deflate_memory(9, 1) and deflate_memory(15, 8) >= 256 * 1024


def test_the_rate_is_haproxys_freq_ctr() -> None:
    rate = RateCounter()
    rate.add(100.0, 1000)
    rate.add(100.9, 500)
    assert rate.read(100.95) == 1500
    assert rate.read(101.25) == pytest.approx(1500 * 0.75)  # last second's, weighted by what is left
    rate.add(101.5, 100)
    assert rate.read(101.5) == pytest.approx(100 + 1500 * 0.5)
    assert rate.read(103.0) == 0  # two periods later: nothing


def test_ceilings_refuse_new_responses() -> None:
    budget = Budget(CompressionLimits(max_rate=10_000, max_memory=600_000))
    assert budget.allows(50.0, 300_000)
    budget.memory = 400_000
    assert not budget.allows(50.0, 300_000)  # maxzlibmem
    budget.memory = 0
    budget.rate.add(50.0, 20_000)
    assert not budget.allows(50.5, 300_000)  # maxcomprate
    assert budget.allows(52.0, 300_000)


def test_cpu_ceiling_measures_this_process() -> None:
    budget = Budget(CompressionLimits(max_cpu=0))
    meter = budget.cpu
    meter.at -= 1.0  # a second ago ...
    meter.cpu -= 0.5  # ... with half a second of CPU since: 50 %
    assert not budget.allows(meter.at + 1.0, 0)
    assert Budget(CompressionLimits(max_cpu=100)).allows(0.0, 0)
