"""Helpers for lb.rules unit tests: configs from text, transactions from a few facts."""

from __future__ import annotations

from pathlib import Path

import lb.config
from lb.config.diagnostics import format_diagnostic
from lb.config.model import Config
from lb.rules import pipeline
from lb.rules.message import Request, Response
from lb.rules.txn import ConnFacts, Txn

HEAD = """\
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
"""


def load(tmp_path: Path, text: str, head: str = HEAD, name: str = "t.cfg") -> Config:
    """Load `head + text` written to tmp_path/name."""
    path = tmp_path / name
    path.write_text(head + text)
    return lb.config.load(str(path))


def messages(config: Config, severity: str | None = None) -> list[str]:
    """Diagnostics as `haproxy -c` prints them, after "config : "."""
    out = []
    for d in config.diagnostics:
        if severity is None or d.severity == severity:
            out.append(format_diagnostic(d, 1).split(" : config : ", 1)[1])
    return out


def txn(uri: str = "/", headers: list[tuple[str, str]] | None = None, method: str = "GET", version: str = "1.1",
        src: str = "10.0.0.1", src_port: int = 40000, dst_port: int = 80, ssl: bool = False,
        frontend=None) -> Txn:  # fmt: skip
    stream = ConnFacts(src, src_port, "127.0.0.1", dst_port, ssl)
    return Txn(stream, Request(method, uri, version, list(headers or [])), frontend)


def through(config: Config, t: Txn, response: Response | None = None, is_up=lambda s: True, now: int = 0):
    """Run a Txn through the whole pipeline; return (verdict or None, txn)."""
    t.frontend = t.frontend or next(iter(config.frontends.values()))
    verdict = pipeline.request_phase(t)
    if verdict is None and t.backend is not None:
        verdict = pipeline.backend_phase(t, is_up, now=now)
    if verdict is not None or t.backend is None:
        return verdict, t
    t.server = pipeline.persistent_server(t) or t.backend.servers[0]
    t.response = response or Response(200, "OK", "1.1", [("Content-Length", "0")])
    return pipeline.response_phase(t, now=now), t


SUMMARY = ("Error(s) found in configuration file", "Fatal errors found in configuration")


def alerts(config: Config) -> list[str]:
    """Alert messages, without the closing summary lines the loader adds."""
    return [d.message for d in config.alerts if not d.message.startswith(SUMMARY)]
