"""tools/shmdump.py: the debug dump of a generation's server table (tool)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

import lb.config
from lb.generation import Generation
from lb.shm import layout
from tests.support import REPO

CONFIG = """\
global
    nbproc 2
defaults
    mode tcp
    timeout connect 1s
    timeout client 1s
    timeout server 1s
frontend fe
    bind 127.0.0.1:1
    default_backend be
backend be
    server web1 127.0.0.1:8001 check
    server web2 127.0.0.1:8002 weight 3
    server spare 127.0.0.1:8003 backup disabled
backend other
    server x 127.0.0.1:8004 check rise 3 fall 2 init-state down
"""


@pytest.fixture(scope="module")
def shmdump() -> ModuleType:
    spec = importlib.util.spec_from_file_location("shmdump", REPO / "tools" / "shmdump.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dump_of_a_seeded_generation(tmp_path: Path, shmdump: ModuleType) -> None:
    (tmp_path / "lb.cfg").write_text(CONFIG)
    config = lb.config.load(str(tmp_path / "lb.cfg"))
    assert config.alerts == []
    generation = Generation(5, config, 1)
    generation.seed(None)
    shm = generation.shm
    shm.conns[0 * shm.nservers + 1] = 4  # web2: 4 streams in worker 0, 2 in worker 1, 1 queued
    shm.conns[1 * shm.nservers + 1] = 2
    shm.queued[1 * shm.nservers + 1] = 1
    shm.srv_admin[0] = layout.ADMIN_DRAIN
    shm.set_slot(1, 777, layout.SLOT_RUNNING)
    text = shmdump.dump(shm, config)
    lines = text.splitlines()
    assert lines[0] == f"generation 5: 3 slots, 4 servers, 2 backends, 3 proxies, {shm.size} bytes"
    assert lines[1] == "slot 0: pid 0 free heartbeat 0 ms"
    assert lines[2].startswith("slot 1: pid 777 running heartbeat ")
    assert lines[4:] == [
        "backend/server  up  status  health  admin  weight  conns/slot  queued",
        "be/web1         1   INI     2       DRAIN  1       0 0 0       0",
        "be/web2         1   UNK     0       READY  3       4 2 0       1",
        "be/spare        1   UNK     0       MAINT  1       0 0 0       0",
        "other/x         0   INI     2       READY  1       0 0 0       0",
    ]
    assert text.endswith("\n")


def test_main_demonstrates_on_a_config(tmp_path: Path, shmdump: ModuleType, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "lb.cfg").write_text(CONFIG)
    assert shmdump.main([str(tmp_path / "lb.cfg")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("generation 1: 3 slots, 4 servers") and "be/web2" in out and "other/x" in out


def test_main_refuses_a_bad_config(tmp_path: Path, shmdump: ModuleType, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "lb.cfg").write_text(CONFIG.replace("    server x", "    balance nope\n    server x"))
    assert shmdump.main([str(tmp_path / "lb.cfg")]) == 1
    err = capsys.readouterr().err
    assert "balance only supports" in err
