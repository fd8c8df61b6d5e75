"""Splicing keywords: option splice-*, nosplice, maxpipes, tune.pipesize, and the policy a stream gets from them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import lb.config
from workers import splice
from workers.splice import AUTO, REQUEST, RESPONSE, PipePool, proxy_bits

BASE = """
global
{global_extra}
defaults
    mode tcp
    option splice-auto
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
    bind 127.0.0.1:18080
    option splice-request
    default_backend be
frontend fe_plain
    bind 127.0.0.1:18081
    no option splice-auto
    default_backend be_plain
backend be
    option splice-response
    server s1 127.0.0.1:18082
backend be_plain
    no option splice-auto
    server s1 127.0.0.1:18082
"""


def policy(global_: Any, frontend: Any, backend: Any) -> int:
    """A stream's splice bits as workers/tcp.py ORs them: either proxy's options (HAProxy ORs options2)."""
    return proxy_bits(global_, frontend) | proxy_bits(global_, backend)


def load(tmp_path: Path, global_extra: str = "") -> lb.config.Config:
    path = tmp_path / "t.cfg"
    path.write_text(BASE.format(global_extra=global_extra))
    return lb.config.load(str(path))


def test_either_proxy_enables_a_direction(tmp_path: Path) -> None:
    config = load(tmp_path)
    assert not config.alerts and not [d for d in config.diagnostics if d.severity == "WARNING"]
    fe, be = config.frontends["fe"], config.backends["be"]
    assert policy(config.global_, fe, be) == REQUEST | RESPONSE | AUTO
    assert policy(config.global_, config.frontends["fe_plain"], config.backends["be_plain"]) == 0
    assert policy(config.global_, config.frontends["fe_plain"], be) == RESPONSE | AUTO  # be keeps defaults' auto


def test_nosplice_disables_everything(tmp_path: Path) -> None:
    config = load(tmp_path, "    nosplice")
    assert config.global_.nosplice
    assert policy(config.global_, config.frontends["fe"], config.backends["be"]) == 0


def test_maxpipes_and_pipesize(tmp_path: Path) -> None:
    config = load(tmp_path, "    maxpipes 12\n    tune.pipesize 256k")
    assert (config.global_.maxpipes, config.global_.pipesize) == (12, 256 * 1024)


@pytest.mark.parametrize(("line", "message"), [
    ("tune.pipesize 2x", "'tune.pipesize': invalid size '2x'"),
    ("maxpipes", "'maxpipes' expects an integer argument."),
    ("maxpipes 0", "'maxpipes' value 0 is out of range"),
])  # fmt: skip
def test_bad_values_are_alerts_with_their_line(tmp_path: Path, line: str, message: str) -> None:
    config = load(tmp_path, "    " + line)
    assert any(message in d.message and d.loc is not None and d.loc.line == 3 for d in config.alerts), config.alerts


def test_the_pool_caps_pipes_in_use_and_reuses_empty_ones() -> None:
    pool = PipePool(limit=2, pipesize=0)
    first, second = pool.get(), pool.get()
    assert first is not None and second is not None and pool.get() is None  # maxpipes reached: copy
    assert first.size >= 4096  # the system's default capacity
    pool.put(first)
    again = pool.get()
    assert again is first  # an empty pipe is reused
    second.pending = 10  # bytes still inside: closed, never handed to another stream
    pool.put(second)
    assert second not in pool.idle
    pool.put(again)
    for pipe in pool.idle:
        pipe.close()


def test_fill_and_drain_move_bytes_through_the_pipe() -> None:
    import socket

    left, right = socket.socketpair()
    out_left, out_right = socket.socketpair()
    pool = PipePool(limit=1, pipesize=0)
    pipe = pool.get()
    assert pipe is not None
    left.sendall(b"spliced bytes")
    assert splice.fill(right.fileno(), pipe) == 13 and pipe.pending == 13
    assert splice.drain(pipe, out_left.fileno()) and pipe.pending == 0
    assert out_right.recv(64) == b"spliced bytes"
    left.close()
    assert splice.fill(right.fileno(), pipe) == 0  # end of stream
    pool.put(pipe)
    for sock in (right, out_left, out_right):
        sock.close()
