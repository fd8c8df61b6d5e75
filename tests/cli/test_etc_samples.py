"""Every sample configuration in etc/ passes `lbctl check` without a word (real lbctl).

etc/l7-article.cfg terminates TLS with a certificate that is not shipped: the
test makes it the way the file's header tells a reader to (openssl, into
etc/certs/ of a copy of etc/), then checks the file from that copy.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import REPO

SAMPLES = sorted(p.name for p in (REPO / "etc").glob("*.cfg"))


@pytest.fixture(scope="module")
def etc_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("samples")
    shutil.copytree(REPO / "etc", root / "etc")
    certs = root / "etc" / "certs"
    certs.mkdir(exist_ok=True)
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make etc/l7-article.cfg's certificate (.ci/run installs it)")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=solvethenetwork.com", "-keyout", str(certs / "k.key"),
                    "-out", str(certs / "c.crt")], check=True, capture_output=True, timeout=60)  # fmt: skip
    pem = (certs / "c.crt").read_bytes() + (certs / "k.key").read_bytes()
    (certs / "solvethenetwork.com.pem").write_bytes(pem)
    return root


def test_there_are_samples() -> None:
    assert {"lb.cfg", "l7-article.cfg"} <= set(SAMPLES)


@pytest.mark.parametrize("name", SAMPLES)
def test_sample_checks_clean(etc_copy: Path, name: str) -> None:
    result = subprocess.run([sys.executable, "-m", "lb", "check", "-f", f"etc/{name}"], cwd=etc_copy,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    assert (result.returncode, result.stderr, result.stdout) == (0, "", "Configuration file is valid\n")

