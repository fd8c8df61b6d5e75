"""The compression keywords: model, inheritance, HAProxy's diagnostics (tests only).

The diagnostics of a file HAProxy 2.6 also reads are compared with
`haproxy -c` line for line; lb's own additions (`compression direction`,
tune.zlib.* which Debian's libslz build lacks) are checked against their
expected text."""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import pytest

import lb.config
from lb.compression.model import CompressionLimits, limits_of, settings_of
from lb.config.diagnostics import format_diagnostic
from lb.config.model import Config
from tests.config.test_cli_check_hostile import HAPROXY, lbctl_check, messages

BASE = """defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
"""


def load(tmp_path: Path, text: str) -> Config:
    (tmp_path / "c.cfg").write_text(text)
    with contextlib.chdir(tmp_path):  # locations read `c.cfg:N`
        return lb.config.load("c.cfg")


def diagnostics(config: Config) -> list[str]:
    return [format_diagnostic(d, 1).split(" : config : ", 1)[1] for d in config.diagnostics]


def test_settings_in_haproxy_order_and_inheritance(tmp_path: Path) -> None:
    config = load(tmp_path, BASE + """    compression algo gzip
    compression type text/plain
frontend fe
    bind 127.0.0.1:8080
    compression algo deflate identity
    compression type text/html application/json
    compression offload
    default_backend be
backend be
    server s1 127.0.0.1:8081
listen plain
    bind 127.0.0.1:8082
    compression direction response
    server s1 127.0.0.1:8081
""")
    assert not config.alerts
    fe, be, plain = config.frontends["fe"], config.backends["be"], config.frontends["plain"]
    own = settings_of(fe)
    assert own is not None and own.algos == ["identity", "deflate", "gzip"]  # prepended, then the defaults'
    assert own.types == ["application/json", "text/html", "text/plain"] and own.offload
    inherited = settings_of(be)
    assert inherited is not None and inherited.algos == ["gzip"] and not inherited.offload
    assert settings_of(plain) is not None and settings_of(plain).direction == "response"  # type: ignore[union-attr]


def test_proxies_without_compression_have_no_settings(tmp_path: Path) -> None:
    config = load(tmp_path, BASE + "frontend fe\n    bind 127.0.0.1:8080\n    default_backend be\nbackend be\n")
    assert settings_of(config.frontends["fe"]) is None and settings_of(config.backends["be"]) is None
    assert limits_of(config.global_) == CompressionLimits()


def test_global_limits(tmp_path: Path) -> None:
    config = load(tmp_path, """global
    maxcomprate 100
    maxcompcpuusage 70
    maxzlibmem 16
    tune.comp.maxlevel 6
    tune.zlib.memlevel 7
    tune.zlib.windowsize 12
""")
    assert not config.alerts
    assert limits_of(config.global_) == CompressionLimits(max_rate=102400, max_cpu=70, max_memory=16 << 20, level=6,
                                                          mem_level=7, window_bits=12)  # fmt: skip


HAPROXY_26_FILE = """global
    maxcomprate
    maxcompcpuusage 150
    maxcomprate 10 20
    maxzlibmem
    tune.comp.maxlevel 10
    tune.comp.maxlevel
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
    compression offload
    compression algo gzip
frontend fe
    bind 127.0.0.1:1
    compression algo
    compression algo brotli
    compression type
    compression
    compression foo
    compression algo gzip identity deflate raw-deflate
    default_backend be
backend be
    compression offload
    server s1 127.0.0.1:2
"""


def test_diagnostics_are_haproxys(tmp_path: Path) -> None:
    config = load(tmp_path, HAPROXY_26_FILE)
    assert diagnostics(config)[:11] == [
        "parsing [c.cfg:2] : 'maxcomprate' expects an integer argument in kb/s.",
        "parsing [c.cfg:3] : 'maxcompcpuusage' expects an integer argument between 0 and 100.",
        "parsing [c.cfg:4] : 'maxcomprate' cannot handle unexpected argument '20'.",
        "parsing [c.cfg:5] : 'maxzlibmem' expects an integer argument.",
        "parsing [c.cfg:6] : 'tune.comp.maxlevel' expects a numeric value between 1 and 9",
        "parsing [c.cfg:7] : 'tune.comp.maxlevel' expects a numeric value between 1 and 9",
        "parsing [c.cfg:13] : 'compression' : 'offload' ignored in 'defaults' section.",
        "parsing [c.cfg:17] : parsing [c.cfg:17] : 'compression' expects <algorithm>.",  # sic: HAProxy's
        "parsing [c.cfg:18] : 'compression' : 'brotli' is not a supported algorithm.",
        "parsing [c.cfg:19] : 'compression' expects <type>.",
        "parsing [c.cfg:20] : 'compression' expects 'algo', 'type' 'direction' or 'offload'",
    ]


@pytest.mark.skipif(HAPROXY is None, reason="haproxy is not installed")
def test_same_diagnostics_as_haproxy(tmp_path: Path) -> None:
    """HAProxy 2.6 does not know `direction`: its list of sub-keywords is the one difference."""
    (tmp_path / "c.cfg").write_text(HAPROXY_26_FILE)
    ours = lbctl_check(tmp_path, "c.cfg")
    theirs = subprocess.run([HAPROXY, "-c", "-f", "c.cfg"], cwd=tmp_path, capture_output=True, timeout=60)  # type: ignore[list-item]
    assert ours.returncode == theirs.returncode == 1
    expected = [line.replace(b"'algo', 'type' or 'offload'", b"'algo', 'type' 'direction' or 'offload'")
                for line in messages(theirs.stderr)]  # fmt: skip
    assert messages(ours.stderr) == expected


def test_direction_and_zlib_tuning(tmp_path: Path) -> None:
    config = load(tmp_path, """global
    tune.zlib.memlevel 0
    tune.zlib.windowsize 16
defaults
    mode http
frontend fe
    bind 127.0.0.1:1
    compression direction request
    compression direction both
    compression direction sideways
    compression direction
""")
    assert diagnostics(config)[:6] == [
        "parsing [c.cfg:2] : 'tune.zlib.memlevel' expects a numeric value between 1 and 9.",
        "parsing [c.cfg:3] : 'tune.zlib.windowsize' expects a numeric value between 8 and 15.",
        "parsing [c.cfg:8] : 'compression direction request' is not supported: lb compresses responses only.",
        "parsing [c.cfg:9] : 'compression direction both' : lb compresses responses only; requests are sent as they "
        "come.",
        "parsing [c.cfg:10] : 'compression' expects 'request', 'response', or 'both'.",
        "parsing [c.cfg:11] : 'compression' expects 'request', 'response', or 'both'.",
    ]
    assert [d.severity for d in config.diagnostics[:6]] == ["ALERT", "ALERT", "ALERT", "WARNING", "ALERT", "ALERT"]
