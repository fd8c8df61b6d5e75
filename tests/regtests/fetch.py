"""Fetch HAProxy 2.6.12's reg-tests from Debian's haproxy source package (tests only; .ci/run calls it).

    python -m tests.regtests.fetch [--dest DIR]     # prints the directory holding reg-tests/

The regression tests are not in Debian's binary packages; the source
package's upstream tarball (haproxy_2.6.12.orig.tar.gz) has them.  apt only
downloads sources for `deb-src` lines, which a stock Debian image lacks, so
this uses a private apt configuration (its own sources list and lists
directory in a temporary directory) instead of changing the system's:
nothing outside DIR and the temporary directory is written.  The tarball is
the same for every Debian revision of 2.6.12 (deb12u3, deb12u4, ...); the
first revision the mirror serves is used.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "2.6.12"
DEFAULT_DEST = Path(os.environ.get("LB_REGTESTS_DIR") or Path.home() / ".cache" / "lb")  # holds haproxy-2.6.12/
SOURCES = """\
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def reg_tests_dir(dest: Path = DEFAULT_DEST) -> Path | None:
    """The extracted tree (holding reg-tests/) if it is there."""
    tree = dest / f"haproxy-{VERSION}"
    return tree if (tree / "reg-tests").is_dir() else None


def _apt(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    (work / "parts").mkdir(exist_ok=True)
    (work / "lists" / "partial").mkdir(parents=True, exist_ok=True)
    (work / "parts" / "debian-src.sources").write_text(SOURCES)
    (work / "cache" / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    options = ["-o", "Dir::Etc::SourceList=/dev/null", "-o", f"Dir::Etc::SourceParts={work}/parts",
               "-o", f"Dir::State::Lists={work}/lists", "-o", f"Dir::Cache={work}/cache"]  # fmt: skip
    if os.getuid() == 0:
        options += ["-o", "APT::Sandbox::User=root"]  # the private directories are root's
    command = ["apt-get" if args[0] != "showsrc" else "apt-cache", *options, *args]
    return subprocess.run(command, cwd=work, capture_output=True, text=True, timeout=600)


def fetch(dest: Path = DEFAULT_DEST) -> Path:
    """Download and extract the upstream tarball into `dest`; RuntimeError when it cannot."""
    found = reg_tests_dir(dest)
    if found is not None:
        return found
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="lb-regtests-") as tmp:
        work = Path(tmp)
        update = _apt(work, "update")
        if update.returncode != 0:
            raise RuntimeError(f"apt-get update (deb-src) failed: {update.stderr.strip()[-300:]}")
        versions = re.findall(r"^Version: (\S+)$", _apt(work, "showsrc", "haproxy").stdout, re.M)
        tarball = work / f"haproxy_{VERSION}.orig.tar.gz"
        for version in sorted((v for v in versions if v.startswith(VERSION + "-")), reverse=True):
            _apt(work, "source", "--download-only", f"haproxy={version}")
            if tarball.exists():
                break
        if not tarball.exists():
            raise RuntimeError(f"no Debian source package of haproxy {VERSION} could be downloaded "
                               f"(versions seen: {', '.join(versions) or 'none'})")  # fmt: skip
        with tarfile.open(tarball) as archive:
            members = [m for m in archive.getmembers() if "/reg-tests/" in m.name or m.name.endswith("/VERSION")]
            archive.extractall(dest, members=members, filter="data")
    tree = reg_tests_dir(dest)
    if tree is None:
        raise RuntimeError(f"the tarball held no reg-tests/ directory ({dest})")
    return tree


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=DEFAULT_DEST, help=f"where to extract (default {DEFAULT_DEST})")
    options = parser.parse_args()
    try:
        print(fetch(options.dest))
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
