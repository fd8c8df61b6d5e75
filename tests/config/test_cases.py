"""Data-driven configuration cases: one .cfg file and one .py file of expectations each.

- `valid/NNN.cfg` must load without any alert.  `NNN.py` defines
  `check(config)` (facts about the model), and optionally `WARNINGS` (the
  exact non-alert lines, HAProxy-formatted with pid 4242) and `ENV`
  (environment variables to set, or to unset with None).
- `invalid/NNN.cfg`: `NNN.py` defines `EXPECTED`, every diagnostic line
  exactly as `lbctl check` prints it with pid 4242 (the version notice aside).

Files are loaded from their own directory, so locations read `NNN.cfg:line`.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

import lb.config
from lb.config.diagnostics import format_diagnostic
from lb.config.model import Config

HERE = Path(__file__).parent
PID = 4242
VALID = sorted((HERE / "valid").glob("*.cfg"))
INVALID = sorted((HERE / "invalid").glob("*.cfg"))


def _expectations(cfg: Path) -> ModuleType:
    path = cfg.with_suffix(".py")
    spec = importlib.util.spec_from_file_location(f"case_{cfg.parent.name}_{cfg.stem}", path)
    assert spec is not None and spec.loader is not None, f"{path} is missing"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _load(cfg: Path, case: ModuleType, monkeypatch: pytest.MonkeyPatch) -> Config:
    for name, value in getattr(case, "ENV", {}).items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    monkeypatch.chdir(cfg.parent)
    return lb.config.load(cfg.name)


def _lines(config: Config, keep) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(format_diagnostic(d, PID) for d in config.diagnostics if keep(d))


def test_there_are_cases() -> None:
    assert len(VALID) >= 3 and len(INVALID) >= 5


@pytest.mark.parametrize("cfg", VALID, ids=lambda p: f"valid/{p.name}")
def test_valid_case(cfg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = _expectations(cfg)
    config = _load(cfg, case, monkeypatch)
    assert _lines(config, lambda d: d.severity == "ALERT") == ""
    if hasattr(case, "WARNINGS"):
        assert _lines(config, lambda d: d.severity != "ALERT") == case.WARNINGS.strip("\n")
    case.check(config)


@pytest.mark.parametrize("cfg", INVALID, ids=lambda p: f"invalid/{p.name}")
def test_invalid_case(cfg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    case = _expectations(cfg)
    config = _load(cfg, case, monkeypatch)
    assert config.alerts, "an invalid case must produce alerts"
    assert _lines(config, lambda d: True) == case.EXPECTED.strip("\n")
