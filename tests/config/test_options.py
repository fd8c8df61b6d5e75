"""Flag options: the HTTP connection modes exclude each other, the last one written wins (HAProxy)."""

from __future__ import annotations

from pathlib import Path

import lb.config


def load(tmp_path: Path, text: str) -> lb.config.Config:
    path = tmp_path / "t.cfg"
    path.write_text(text)
    return lb.config.load(str(path))


def test_backend_keep_alive_overrides_defaults_server_close(tmp_path: Path) -> None:
    config = load(tmp_path, """
defaults
    mode http
    option http-server-close
    timeout connect 1s
    timeout client 1s
    timeout server 1s
backend be
    option http-keep-alive
    server s1 127.0.0.1:8080
""")
    options = config.backends["be"].options
    assert options.get("http-keep-alive") and not options.get("http-server-close")


def test_no_option_keeps_the_others(tmp_path: Path) -> None:
    config = load(tmp_path, """
defaults
    mode http
    option httpclose
backend be
    no option http-server-close
    server s1 127.0.0.1:8080
""")
    options = config.backends["be"].options
    assert options.get("httpclose") and options.get("http-server-close") is False


def test_fin_timeouts_are_parsed_but_not_applied(tmp_path: Path) -> None:
    config = load(tmp_path, """
defaults
    mode tcp
    timeout client-fin 1s
""")
    assert config.diagnostics[0].severity == "WARNING"
    assert "'timeout client-fin' is parsed but not applied" in config.diagnostics[0].message
