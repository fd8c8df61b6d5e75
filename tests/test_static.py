"""Static checks of the engine, run with the suite so that CI keeps them (tests only).

`mypy` (configured in setup.cfg: the engine, workers/, with what it imports
from lb/ followed silently) and `ruff check` (configured in pyproject.toml)
must find nothing in the engine.
"""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from tests.support import REPO


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)


def test_mypy_passes_on_the_engine() -> None:
    pytest.importorskip("mypy", reason="mypy is a test dependency (pip install -e '.[test]')")
    result = run(sys.executable, "-m", "mypy")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_passes_on_the_engine() -> None:
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is a test dependency (pip install -e '.[test]')")
    result = run(ruff, "check", "workers", "tests/workers")
    assert result.returncode == 0, result.stdout + result.stderr
