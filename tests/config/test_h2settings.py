"""HTTP/2 keywords (lb/h2settings.py): tune.h2.*, bind and server `proto`, with HAProxy 2.6's messages (checked with haproxy -c)."""

from __future__ import annotations

from pathlib import Path

import pytest

import lb.config
from lb.h2settings import parse_positive, parse_range

BASE = """
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
    bind 127.0.0.1:8080{bind}
    default_backend be
backend be
    server s1 127.0.0.1:9000{server}
"""


def load(tmp_path: Path, text: str) -> lb.config.Config:
    path = tmp_path / "t.cfg"
    path.write_text(text)
    return lb.config.load(str(path))


def alerts(config: lb.config.Config) -> list[str]:
    return [d.message for d in config.alerts]


def test_values_and_defaults(tmp_path: Path) -> None:
    glob = load(tmp_path, BASE.format(bind="", server="")).global_
    assert (glob.h2_max_streams, glob.h2_window, glob.h2_header_table, glob.h2_max_frame) == (100, 65535, 4096, 0)
    text = "global\n    tune.h2.max-concurrent-streams 20\n    tune.h2.initial-window-size 1048576\n" \
           "    tune.h2.header-table-size 8192\n    tune.h2.max-frame-size 32768\n" + BASE  # fmt: skip
    config = load(tmp_path, text.format(bind=" proto h2", server=" proto h2"))
    assert alerts(config) == []
    glob = config.global_
    assert (glob.h2_max_streams, glob.h2_window, glob.h2_header_table, glob.h2_max_frame) == (20, 1048576, 8192, 32768)
    assert config.frontends["fe"].binds[0].options["proto"] == "h2"
    assert config.backends["be"].servers[0].proto == "h2"


@pytest.mark.parametrize("line,message", [
    ("tune.h2.header-table-size 100", "'tune.h2.header-table-size' expects a numeric value between 4096 and 65536."),
    ("tune.h2.initial-window-size -1", "'tune.h2.initial-window-size' expects a positive numeric value."),
    ("tune.h2.max-frame-size 1", "'tune.h2.max-frame-size' expects a numeric value between 16384 and 16777215."),
])  # fmt: skip
def test_haproxy_messages_for_bad_values(tmp_path: Path, line: str, message: str) -> None:
    config = load(tmp_path, f"global\n    {line}\n" + BASE.format(bind="", server=""))
    assert any(alert.endswith(message) for alert in alerts(config)), alerts(config)


def test_unknown_mux_protocols(tmp_path: Path) -> None:
    found = alerts(load(tmp_path, BASE.format(bind=" proto h3", server=" proto foo")))
    assert any(alert.endswith("'proto' :  unknown MUX protocol 'h3'") for alert in found), found
    assert any(alert.endswith("'server be/s1' : 'proto' :  unknown MUX protocol 'foo'.") for alert in found), found


def test_parsers() -> None:
    assert parse_range(["k", "4096"], 4096, 65536) == 4096
    assert parse_positive(["k", "0"]) == 0
    for bad in (["k", "x"], ["k", ""], ["k"], ["k", "2147483648"]):
        with pytest.raises(lb.config.registry.KwError):
            parse_positive(bad)
