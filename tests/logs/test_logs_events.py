"""lb's own events: structlog JSON or console on the chosen stream, and the same events on the global syslog targets."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lb.config import parser
from lb.logs import events
from tests.logs.conftest import UdpReceiver


@pytest.fixture(autouse=True)
def clean_events() -> Iterator[None]:
    yield
    events.detach_syslog()
    events.configure("json", role="test", stream=io.StringIO())


def json_events(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_events_carry_role_pid_generation() -> None:
    stream = io.StringIO()
    events.configure("json", role="master", generation=3, stream=stream)
    events.reload(generation=4, outcome="success")
    events.bind(generation=4)
    events.worker_exit(slot=2, pid=1234, reason="killed by signal 9", respawn=True)
    first, second = json_events(stream)
    assert (first["event"], first["level"], first["role"], first["pid"]) == ("reload", "info", "master", os.getpid())
    assert first["generation"] == 4 and first["outcome"] == "success" and "timestamp" in first
    assert (second["event"], second["level"], second["slot"], second["worker_pid"]) == ("worker exit", "warning", 2, 1234)
    assert second["generation"] == 4 and second["respawn"] is True


def test_console_renderer_when_asked() -> None:
    stream = io.StringIO()
    events.configure("console", role="master", stream=stream)
    events.stopping("graceful")
    text = stream.getvalue()
    assert "stop" in text and "mode=graceful" in text and not text.startswith("{")


def test_unknown_renderer() -> None:
    with pytest.raises(ValueError, match="expects 'json' or 'console'"):
        events.configure("xml")


def test_events_reach_global_syslog_targets(tmp_path: Path, udp: UdpReceiver) -> None:
    (tmp_path / "lb.cfg").write_text(f"global\n    log {udp.address} format local daemon\n")
    config = parser.parse_files([str(tmp_path / "lb.cfg")])
    events.configure("json", role="master", stream=io.StringIO())
    events.attach_syslog(config, master_pid=777)
    events.reload(generation=2, outcome="aborted", reason="2 errors", keeping_generation=1)
    events.server_state("be", "s1", "DOWN", "Server be/s1 is DOWN, reason: Layer4 timeout.")
    first, second = udp.receive().decode(), udp.receive().decode()
    assert first.startswith("<25>") and first.endswith(  # daemon (3) * 8 + alert (1), as HAProxy
        ' lb[777]: reload generation=2 outcome=aborted reason="2 errors" keeping_generation=1\n')
    assert second.startswith("<28>") and second.endswith(" lb[777]: Server be/s1 is DOWN, reason: Layer4 timeout.\n")


@pytest.mark.parametrize(("fields", "text"), [
    ({"event": "start", "generation": 1, "workers": 4}, "start generation=1 workers=4"),
    ({"event": "config", "message": "missing timeouts for frontend 'fe'."}, "missing timeouts for frontend 'fe'."),
    ({"event": "x", "path": "a b", "empty": "", "quote": 'say "hi"'}, 'x path="a b" empty="" quote="say \\"hi\\""'),
    ({"event": "x", "role": "master", "pid": 1, "level": "info", "timestamp": "t"}, "x"),
])
def test_event_text(fields: dict, text: str) -> None:
    assert events.event_text(fields) == text
