"""Which engine runs, and the switch between them (lb/engine.py).

CI builds the compiled engine and sets LB_EXPECT_COMPILED=1: a build that
fell back to plain Python (a compile error, a missing compiler) must fail
the run rather than pass slowly.  LB_PURE_PYTHON=1 makes a compiled build
run the .py files; a real `lbctl start` says which engine it runs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lb.engine import COMPILED, engine
from tests.support import REPO, LbProcess, free_port


def test_the_engine_ci_expects_is_the_one_running() -> None:
    if not os.environ.get("LB_EXPECT_COMPILED"):
        pytest.skip("LB_EXPECT_COMPILED is not set (CI sets it)")
    assert engine() == "compiled"


def test_every_compiled_module_exists_as_python_source() -> None:
    for module in COMPILED:
        assert (REPO / module).is_file(), module


def test_pure_python_is_forced_by_the_environment() -> None:
    code = "from lb.engine import engine; import workers.http.h1 as m; print(engine(), m.__file__.endswith('.py'))"
    env = dict(os.environ, LB_PURE_PYTHON="1")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["python", "True"], out.stderr


def test_lbctl_start_logs_its_engine(tmp_path: Path) -> None:
    port = free_port()
    lb = LbProcess(tmp_path, f"""
defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
    bind 127.0.0.1:{port}
""")
    try:
        lb.start()
        assert lb.find_events("start")[0]["engine"] == engine()
    finally:
        lb.stop()
