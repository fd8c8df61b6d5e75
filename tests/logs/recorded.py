"""The HAProxy 2.6 lines recorded by tools/record_haproxy_logs.py, and lookups into them."""

from __future__ import annotations

import json
from pathlib import Path

DATA = Path(__file__).parent / "data" / "haproxy26.json"
RECORDED: dict = json.loads(DATA.read_text())

# Frontends of the recording that run in mode http (the others are tcp).
HTTP_FRONTENDS = frozenset({
    "ft_http", "f_pp", "fh", "f_ws", "ft_http_all", "ft_flags", "ft_quote", "ft_merge", "ft_merge_cap", "ft_clf",
    "ft_trunc", "ft_syslog", "ft_errors", "fe_host",
})  # fmt: skip
CUSTOM_FORMATS = tuple(dict.fromkeys(RECORDED["formats"].values()))


def scenario(name: str) -> dict:
    for item in RECORDED["scenarios"]:
        if item["scenario"] == name:
            return item
    raise KeyError(name)


def traffic_lines() -> list[tuple[str, str, str]]:
    """(scenario, frontend, line) for every traffic line HAProxy wrote on stdout."""
    out = []
    for item in RECORDED["scenarios"]:
        for line in item["lines"]:
            if line.startswith(("Server ", "backend ", "Connect from ")):  # not log-format lines
                continue
            out.append((item["scenario"], item["frontend"], line))
    return out
