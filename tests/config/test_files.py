"""lb.config.files: which files `-f FILE|DIR ...` names, as HAProxy expands it (unit)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from lb.config.files import expand_paths, is_config_name


@pytest.mark.parametrize(("name", "expected"), [
    ("lb.cfg", True), ("10-web.cfg", True), ("a.b.cfg", True),
    (".hidden.cfg", False), (".cfg", False), ("lb.cfg.bak", False), ("lb.conf", False),
    ("a.cfg.cfg", False),  # HAProxy looks at the first ".cfg" only
    ("lbcfg", False),
])  # fmt: skip
def test_config_names(name: str, expected: bool) -> None:
    assert is_config_name(name) is expected


def test_directories_expand_in_byte_order_to_regular_files_only(tmp_path: Path) -> None:
    for name in ("b.cfg", "B.cfg", "a.cfg", "10.cfg", "x.txt"):
        (tmp_path / name).write_text("")
    (tmp_path / "sub.cfg").mkdir()
    os.symlink(tmp_path / "a.cfg", tmp_path / "link.cfg")
    os.symlink(tmp_path / "gone", tmp_path / "dangling.cfg")
    files, problems = expand_paths([str(tmp_path), "/nonexistent/x.cfg"])
    assert [Path(f).name for f in files] == ["10.cfg", "B.cfg", "a.cfg", "b.cfg", "link.cfg"]
    assert files[0] == f"{tmp_path}/10.cfg"
    assert problems == ["Cannot open configuration file/directory /nonexistent/x.cfg : No such file or directory"]


def test_a_plain_file_is_kept_as_written(tmp_path: Path) -> None:
    (tmp_path / "lb.conf").write_text("")
    assert expand_paths([str(tmp_path / "lb.conf")]) == ([str(tmp_path / "lb.conf")], [])
