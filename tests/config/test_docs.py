"""The keyword reference comes from the registry and covers every scope."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from lb.config.docs import SCOPES, keyword_table
from lb.config.registry import REGISTRY

ROOT = Path(__file__).resolve().parents[2]


def test_table_lists_every_registered_keyword() -> None:
    rows = keyword_table()
    sections = ("global", "proxy", *REGISTRY.sections)
    assert {(scope, name) for scope, name, *_ in rows if scope in sections} == set(REGISTRY.keywords)
    assert {name for scope, name, *_ in rows if scope == "server"} == set(REGISTRY.server_keywords)
    assert {name for scope, name, *_ in rows if scope == "bind"} == set(REGISTRY.bind_keywords)
    order = (*SCOPES, *sorted(REGISTRY.sections))
    assert [row[0] for row in rows] == sorted((row[0] for row in rows), key=order.index)


def test_table_rows() -> None:
    rows = {(scope, name): (sections, applied, doc) for scope, name, sections, applied, doc in keyword_table()}
    assert rows[("proxy", "bind")][0] == ("frontend", "listen")
    assert rows[("proxy", "balance")][0] == ("defaults", "backend", "listen")
    assert rows[("global", "nbproc")][:2] == (("global",), True)
    assert rows[("global", "cpu-map")][1] is False  # parsed, not applied
    assert rows[("server", "weight")][0] == ("server", "default-server")
    assert rows[("server", "id")][0] == ("server",)  # not allowed on default-server
    assert rows[("bind", "accept-proxy")][1] is True
    assert rows[("bind", "defer-accept")][1] is False


def test_generator_prints_markdown() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "gen_keyword_docs.py")],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    text = result.stdout
    assert text.startswith("# lb configuration keywords")
    for title in ("## Global section", "## Proxy sections", "## Server and default-server options", "## Bind options"):
        assert title in text
    assert "| `cpu-map` | global | *parsed, not applied yet* |" in text
    assert "| `balance` | defaults, backend, listen | applied |" in text
    assert text.count("\n| `") == len(keyword_table())
