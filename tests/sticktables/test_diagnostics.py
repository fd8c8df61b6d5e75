"""Config diagnostics of stick tables, tcp-request, track-sc, stick and use-server: `haproxy -c`'s lines.

parity/diagnostics-2.6.json holds the cases and HAProxy 2.6.12's ALERT and
WARNING lines for each (recorded by parity/record_diagnostics.py); lb must
print the same lines.  Deliberate differences are the DEVIATIONS below,
each with the reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lb.config
from lb.config.diagnostics import format_diagnostic

GOLDEN = json.loads((Path(__file__).parent / "parity" / "diagnostics-2.6.json").read_text())["cases"]

# config line under test -> lb's lines where lb deliberately differs from HAProxy 2.6
DEVIATIONS: dict[str, list[str]] = {
}


def lines_of(config) -> list[str]:
    out = []
    for d in config.diagnostics:
        if d.severity in ("ALERT", "WARNING") and not d.message.startswith(("Error(s) found", "Fatal errors")):
            out.append(f"{d.severity} " + format_diagnostic(d, 1).split(" : config : ", 1)[1].rstrip("\n"))
    return out


def case_id(case: dict) -> str:
    lines = case["config"].splitlines()
    body = [line.strip() for line in lines[6:] if line.strip() and not line.strip().startswith(("bind", "server",
                                                                                              "default_backend"))]
    return " | ".join(body)[:90]


@pytest.mark.parametrize("case", GOLDEN, ids=[case_id(c) for c in GOLDEN])
def test_same_lines_as_haproxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: dict) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.cfg").write_text(case["config"])
    expected = DEVIATIONS.get(case_id(case), case["expected"])
    assert lines_of(lb.config.load("t.cfg")) == expected
