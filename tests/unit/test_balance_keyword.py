"""The `balance` keyword, through lb.config.load on small files (master, cli)."""

from __future__ import annotations

from pathlib import Path

import pytest

import lb.config
from lb.config.diagnostics import format_diagnostic
from lb.config.model import Config

PID = 4242
USAGE = ("balance only supports 'first', 'hdr', 'leastconn', 'roundrobin', 'source', 'static-rr', 'uri' "
         "and 'url_param' options.")  # fmt: skip


def load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, balance_line: str | None) -> Config:
    lines = ["defaults", "    mode http", "    timeout connect 1s", "    timeout client 1s", "    timeout server 1s",
             "backend be"]  # fmt: skip
    if balance_line is not None:
        lines.append(f"    {balance_line}")  # line 7
    lines.append("    server s1 127.0.0.1:8080")
    (tmp_path / "lb.cfg").write_text("\n".join(lines) + "\n")
    monkeypatch.chdir(tmp_path)
    return lb.config.load("lb.cfg")


VALID = [
    (None, "roundrobin", []),  # HAProxy's default up to 3.2
    ("balance roundrobin", "roundrobin", []),
    ("balance static-rr", "static-rr", []),
    ("balance leastconn", "leastconn", []),
    ("balance first", "first", []),
    ("balance source", "source", []),
    ("balance uri", "uri", []),
    ("balance uri whole len 10 depth 2 path-only", "uri", ["whole", "len", "10", "depth", "2", "path-only"]),
    ("balance url_param userid", "url_param", ["userid"]),
    ("balance url_param session_id check_post", "url_param", ["session_id", "check_post"]),
    ("balance hdr(Host)", "hdr", ["Host"]),
    ("balance hdr(X-Tenant)", "hdr", ["X-Tenant"]),
]


@pytest.mark.parametrize("line, algorithm, args", VALID)
def test_valid_balance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str | None,
                       algorithm: str, args: list[str]) -> None:  # fmt: skip
    config = load(tmp_path, monkeypatch, line)
    assert config.alerts == []
    balance = config.backends["be"].balance
    assert (balance.algorithm, balance.args) == (algorithm, args)


INVALID = [
    ("balance", USAGE),
    ("balance roundrobinx", USAGE),
    ("balance random", USAGE),  # HAProxy has it; lb does not
    ("balance rdp-cookie", USAGE),
    ("balance url_param", "'balance url_param' : requires an URL parameter name"),
    ("balance url_param id extra", "'balance url_param' : unexpected argument 'extra'"),
    ("balance hdr()", "'balance hdr' : requires a header name: 'balance hdr(<name>)'"),
    ("balance hdr", "'balance hdr' : requires a header name: 'balance hdr(<name>)'"),
    ("balance uri len", "'balance uri' : 'len' expects a positive integer"),
    ("balance uri depth x", "'balance uri' : 'depth' expects a positive integer"),
    ("balance uri deep", "'balance uri' : unknown option 'deep' (expects whole, len, depth or path-only)"),
    ("balance leastconn now", "'balance leastconn' : 'leastconn' takes no argument"),
]


@pytest.mark.parametrize("line, message", INVALID)
def test_invalid_balance_alert_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, line: str, message: str) -> None:
    config = load(tmp_path, monkeypatch, line)
    first = format_diagnostic(config.alerts[0], PID)
    assert first == f"[ALERT]    ({PID}) : config : parsing [lb.cfg:7] : {message}"
    assert config.backends["be"].balance.algorithm == "roundrobin"  # the bad line changed nothing
