"""lb's log lines byte for byte against HAProxy 2.6's, for the same config and the same exchanges.

The e2e lab (tests/logs/e2e_lab.py: tcp, NOSRV, retries, timeouts, 4xx/5xx,
redirect, deny, return, WebSocket, cookies, CLF, a custom format, dontlognull,
log-separate-errors, RFC3164 and RFC5424 datagrams) runs once under lb and,
when `haproxy` is installed, once under HAProxy; each scenario is played on
both at once and the lines compared with lb.logs.compare (ports, dates and
timers by shape, the rest exactly; syslog headers modulo the `lb[PID]` /
`haproxy[PID]` tag).  The same lines are also compared with HAProxy's lines
recorded in tests/logs/data/haproxy26_e2e.json (tools/record_haproxy_logs.py
--e2e), so the comparison still runs where HAProxy is missing.

Scenarios where lb is known to differ are strict xfails naming the field:
when the engine is fixed they fail as XPASS, and the marker goes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lb.logs.compare import line_differences
from tests.logs.e2e_lab import DOWN_AT_START, SCENARIOS, Backends, Scenario, http_get, websocket
from tests.logs.e2e_support import HAPROXY, HAProxyLive, LbLive, LiveProxy, play_both, syslog_differences
from tests.support import LbProcess, free_port, wait_until

RECORDING = json.loads((Path(__file__).parent / "data" / "haproxy26_e2e.json").read_text())

# scenario -> how lb's line differs from HAProxy's (lb bugs, reported; the lead fixes the engine)
KNOWN_DIFFERENCES = {
}


def scenario_params() -> list:
    params = []
    for item in SCENARIOS:
        marks = ([pytest.mark.xfail(strict=True, reason=KNOWN_DIFFERENCES[item.name])]
                 if item.name in KNOWN_DIFFERENCES else [])  # fmt: skip
        params.append(pytest.param(item, id=item.name, marks=marks))
    return params


class Lab:
    """lb (and HAProxy when installed) on the lab config, the shared backends."""

    def __init__(self, directory: Path) -> None:
        self.backends = Backends()
        self.proxies: list[LiveProxy] = []
        (directory / "lb").mkdir()
        self.lb = LbLive(directory / "lb", self.backends.ports)
        self.proxies.append(self.lb)
        self.haproxy = HAProxyLive(directory, self.backends.ports) if HAPROXY else None
        if self.haproxy is not None:
            self.proxies.append(self.haproxy)
        for proxy in self.proxies:
            proxy.wait_for_stderr(DOWN_AT_START)  # the cookie scenarios need bk_cookie/web2 DOWN

    def stop(self) -> None:
        for proxy in self.proxies:
            proxy.stop()
        self.backends.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    running = Lab(tmp_path_factory.mktemp("e2e-logs"))
    yield running
    running.stop()


def differences(item: Scenario, ours: tuple[list[str], list[str]], our_pid: int,
                theirs: tuple[list[str], list[str]], their_pid: int) -> list[str]:  # fmt: skip
    (our_lines, our_dgrams), (their_lines, their_dgrams) = ours, theirs
    if (len(our_lines), len(our_dgrams)) != (len(their_lines), len(their_dgrams)):
        return [f"lb wrote {len(our_lines)} line(s) and {len(our_dgrams)} datagram(s), haproxy "
                f"{len(their_lines)} and {len(their_dgrams)}: ours {our_lines + our_dgrams}, haproxy's "
                f"{their_lines + their_dgrams}"]  # fmt: skip
    problems = []
    for mine, reference in zip(our_lines, their_lines):
        problems += line_differences(mine, reference, formats=item.formats, loose=item.loose)
    for mine, reference in zip(our_dgrams, their_dgrams):
        problems += syslog_differences(mine, our_pid, reference, their_pid, formats=item.formats, loose=item.loose)
    return problems


@pytest.mark.parametrize("item", scenario_params())
def test_same_lines_as_haproxy(lab: Lab, item: Scenario) -> None:
    results = play_both(item, lab.proxies)
    ours = results["lb"]
    assert len(ours[0]) == item.lines and len(ours[1]) == item.datagrams, (
        f"lb: expected {item.lines} line(s) and {item.datagrams} datagram(s), got {ours}")
    recorded = RECORDING["scenarios"][item.name]
    problems = {"recorded haproxy 2.6": differences(item, ours, lab.lb.pid, (recorded["lines"], recorded["datagrams"]),
                                                    RECORDING["pid"])}  # fmt: skip
    if lab.haproxy is not None:
        problems["live haproxy"] = differences(item, ours, lab.lb.pid, results["haproxy"], lab.haproxy.pid)
    found = {source: found for source, found in problems.items() if found}
    assert not found, f"ours: {ours[0] + ours[1]}\n" + "\n".join(f"{k}: {v}" for k, v in found.items())


def test_syslog_tag_is_lb_and_the_master_pid(lab: Lab) -> None:
    """Every datagram of the lab carries `lb[<master pid>]` (RFC3164) or `lb <master pid>` (RFC5424)."""
    (item,) = [s for s in SCENARIOS if s.name == "syslog_rfc3164"]
    _lines, datagrams = lab.lb.play(item)
    assert len(datagrams) == 1 and f" lb[{lab.lb.pid}]: " in datagrams[0], datagrams
    assert all(f" lb[{lab.lb.pid}]: " in d or f" - lb {lab.lb.pid} - - " in d for d in lab.lb.datagrams)


def test_websocket_is_logged_when_the_tunnel_ends(lab: Lab) -> None:
    """The 101 line is written at the end of the tunnel, not at the upgrade (as HAProxy)."""
    for proxy in lab.proxies:
        before = len(proxy.lines)
        seen_while_open: list[list[str]] = []

        def look(p: LiveProxy = proxy, start: int = before) -> None:
            time.sleep(0.2)  # a line written at the upgrade would have reached us by now
            seen_while_open.append(p.lines[start:])

        websocket(proxy.ports["ws"], while_open=look)
        wait_until(lambda p=proxy: len(p.lines) > before, 5, what=f"{proxy.name}: the 101 line")
        assert seen_while_open == [[]], f"{proxy.name} logged before the tunnel ended: {seen_while_open}"
        assert " 101 " in proxy.lines[before] and '"GET /chat HTTP/1.1"' in proxy.lines[before]


def test_recording_covers_every_scenario() -> None:
    """A scenario added to the lab needs `tools/record_haproxy_logs.py --e2e` to be run again."""
    assert set(RECORDING["scenarios"]) == {item.name for item in SCENARIOS}
    assert RECORDING["haproxy"].startswith("HAProxy version 2.6")


UNIQUE_ID_CONFIG = """
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    log stdout format raw local0
frontend ft_id
    bind 127.0.0.1:{port}
    unique-id-format %{{+X}}o%ci:%cp_%Ts
    log-format "%cp %Ts %ID %{{+Q}}r"
    default_backend bk
backend bk
    server web1 127.0.0.1:{web}
"""


def test_unique_id_format(lab: Lab, tmp_path: Path) -> None:
    port = free_port()
    lb = LbProcess(tmp_path, UNIQUE_ID_CONFIG.format(port=port, web=lab.backends.ports["b_web"]))
    try:
        lb.start()
        http_get(port, "/id")
        line = wait_until(lambda: lb.stdout_lines[:1], 5, what="the line")[0]
    finally:
        lb.stop()
    client_port, seconds, unique_id, _request = line.split(" ", 3)
    assert unique_id == f"7F000001:{int(client_port):04X}_{int(seconds):08X}", line
