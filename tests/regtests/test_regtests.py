"""HAProxy 2.6.12's own regression tests, run by varnishtest with lb-haproxy as HAPROXY_PROGRAM (real processes).

The tests of `passing.txt` (every reg-test within lb's features today) run
in one varnishtest invocation, two at a time; each listed test is one
pytest case that fails when varnishtest reports it failed, skipped or not
at all.  The reg-tests come from Debian's haproxy source package
(`python -m tests.regtests.fetch`, which .ci/run calls); varnishtest from
Debian's `varnish` package.  Without either, the whole module is skipped
with the reason.

A few of HAProxy's tests race their own servers against millisecond
timeouts: checks/tcp-check_min-recv.vtc gives the check 1 ms after connect,
in which varnishtest's server thread must have written.  lb's first check
runs while its workers are still starting (Python imports take the CPU for
a few hundred ms, where HAProxy starts in a few), so on a loaded 2-core
machine the server thread loses that race now and then (6 of 20 runs with
two CPU hogs beside, 0 of 20 with the first check 500 ms later; HAProxy 0 of
20).  A test that fails in the parallel run is therefore run once more,
alone; it fails here only when it fails both times, and a pass on the
second run is reported in pytest's warnings summary.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tests.regtests.fetch import reg_tests_dir
from tests.support import REPO

LIST = Path(__file__).with_name("passing.txt")
JOBS = 2  # the CI machine has 2 cores
PER_TEST_TIMEOUT = 30  # varnishtest -t, seconds: a test past it is killed and fails
_RESULT = re.compile(r"^#\s+top\s+TEST (\S+) (passed|FAILED|skipped)", re.M)


def listed() -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in LIST.read_text().splitlines())
    return [line for line in lines if line]


def wrapper(directory: Path) -> Path:
    """An executable `haproxy` that is this tree's lb-haproxy (varnishtest runs it from its own directories)."""
    path = directory / "lb-haproxy"
    path.write_text(f'#!/bin/sh\nPYTHONPATH="{REPO}" exec "{sys.executable}" -m lb.haproxy_cli "$@"\n')
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """{test: (status, varnishtest's output)} for every listed test, from one parallel run."""
    varnishtest = shutil.which("varnishtest")
    if varnishtest is None:
        pytest.skip("varnishtest is not installed (Debian package varnish; .ci/run installs it)")
    tree = reg_tests_dir()
    if tree is None:
        pytest.skip("HAProxy 2.6.12's reg-tests are not fetched: run `python -m tests.regtests.fetch` (.ci/run does)")
    work = tmp_path_factory.mktemp("regtests")
    env = {**os.environ, "HAPROXY_PROGRAM": str(wrapper(work)), "TMPDIR": str(work)}
    found = run_varnishtest(varnishtest, tree, env, listed(), JOBS)
    failed = [name for name in listed() if found.get(name, ("not run",))[0] != "passed"]
    if failed:
        found.update(run_varnishtest(varnishtest, tree, env, failed, 1))
        passed_alone = [name for name in failed if found.get(name, ("not run",))[0] == "passed"]
        if passed_alone:  # said in the warnings summary, not hidden
            warnings.warn(f"HAProxy reg-tests that failed in the parallel run passed alone: {', '.join(passed_alone)}",
                          stacklevel=1)  # fmt: skip
    return found


def run_varnishtest(varnishtest: str, tree: Path, env: dict[str, str], names: list[str],
                    jobs: int) -> dict[str, tuple[str, str]]:
    """{test: (status, output)} of one varnishtest run over `names`, `jobs` at a time."""
    tests = [f"reg-tests/{name}" for name in names]
    run = subprocess.run([varnishtest, "-j", str(jobs), "-k", "-t", str(PER_TEST_TIMEOUT), "-b", str(2 << 20),
                          *tests], cwd=tree, env=env, capture_output=True, text=True,
                         timeout=PER_TEST_TIMEOUT * len(tests) // jobs + 120)  # fmt: skip
    output = run.stdout + run.stderr
    return {match[1].removeprefix("reg-tests/"): (match[2], output) for match in _RESULT.finditer(output)}


@pytest.mark.parametrize("name", listed())
def test_haproxy_regtest(results: dict[str, tuple[str, str]], name: str) -> None:
    status, output = results.get(name, ("not run", ""))
    if status != "passed":
        log = [line for line in output.splitlines() if name in line or line.startswith("----")]
        pytest.fail(f"{name}: {status}\n" + "\n".join(log[-40:]))


def test_the_list_is_sorted_and_exists() -> None:
    names = listed()
    assert names == sorted(names) and len(set(names)) == len(names)
    tree = reg_tests_dir()
    if tree is not None:
        assert [n for n in names if not (tree / "reg-tests" / n).is_file()] == []
