"""The stats page in a real browser: what a person sees (headless Chromium; Debian `chromium`).

The page of servers in every state is loaded by Chromium; the DOM it
built gives the rows a person reads (server names, statuses, counters) and
the screenshot, kept in the test's tmp directory, must show HAProxy's
colour for each state.  The first test renders the page in-process (a real
generation, the real runtime API); the second loads a real lb's page over
HTTP after real traffic, and is skipped until the engine runs lb.services.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from lb.shm import layout
from tests.scenarios.http.origins import Origin
from tests.services.browser import CHROMIUM, colours, hex_colour, load, server_rows
from tests.services.e2e import Setup, engine_serves_services, traffic, wait_checked
from tests.services.helpers import Lab
from tests.stats.helpers import count
from tests.support import LbProcess, wait_until

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (.ci/run installs it)")
BODY = """
backend be
    server up 127.0.0.1:2 check
    server drained 127.0.0.1:3 check
    server down 127.0.0.1:4 check
    server rising 127.0.0.1:5 check
    server maint 127.0.0.1:6 check
    server spare 127.0.0.1:7 backup
listen stats
    bind 127.0.0.1:8
    stats enable
    stats uri /stats
    stats admin if TRUE
"""
STATES = {  # server: (admin, up, health), shm indexes in order
    "up": (layout.ADMIN_READY, layout.SRV_UP, 4), "drained": (layout.ADMIN_DRAIN, layout.SRV_UP, 4),
    "down": (layout.ADMIN_READY, layout.SRV_DOWN, 0), "rising": (layout.ADMIN_READY, layout.SRV_DOWN, 1),
    "maint": (layout.ADMIN_MAINT, layout.SRV_UP, 4),
}  # fmt: skip
COLOURS = {"active_up": "#c0ffc0", "active_draining": "#20a0ff", "active_down": "#ff9090",
           "active_going_up": "#ffd020", "maintain": "#c07820", "backup_no_check": "#e0e0e0"}  # fmt: skip


def test_every_state_reads_and_shows_as_on_haproxys_page(tmp_path: Path) -> None:
    lab = Lab(tmp_path, BODY)
    for index, (admin, up, health) in enumerate(STATES.values()):
        lab.shm.srv_admin[index], lab.shm.srv_up[index], lab.shm.srv_health[index] = admin, up, health
        lab.shm.srv_status[index] = 3 if up else 5  # L4OK / L4CON
    count(lab.gen, 0, lab.shm.server_obj(0), "sessions", 1234)
    page = tmp_path / "stats.html"
    page.write_bytes(lab.serve(lab.page("stats"), "/stats").body)
    dom, shot = load(page.as_uri(), tmp_path)
    servers = server_rows(dom)
    assert {name: css for name, (css, _cells) in servers.items()} == {
        "up": "active_up", "drained": "active_draining", "down": "active_down", "rising": "active_going_up",
        "maint": "maintain", "spare": "backup_no_check"}  # fmt: skip
    up_cells = servers["up"][1]
    assert "1234" in up_cells  # the session total (its digit groups are letter-spaced, not split)
    assert any(cell.endswith("UP") for cell in up_cells) and "L4OK in 0ms" in up_cells
    assert any(cell.endswith("MAINT") for cell in servers["maint"][1]) and "no check" in servers["spare"][1]
    seen = colours(shot)
    for css, colour in COLOURS.items():
        assert seen[hex_colour(colour)] > 200, f"{css} ({colour}) not drawn; screenshot: {shot}"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    origins = [Origin("web1"), Origin("web2")]
    setup = Setup(tmp_path_factory.mktemp("lb"), origins)
    lb = LbProcess(setup.dir, setup.config()).start()
    try:
        wait_until(lambda: os.path.exists(setup.socket), what="stats socket")
        wait_checked(setup)
        yield setup
    finally:
        lb.stop()
        for origin in origins:
            origin.close()


@pytest.mark.skipif(not engine_serves_services(), reason="the engine does not run lb.services yet")
def test_a_real_lbs_page_after_traffic(running: Setup, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{running.ports['stats']}/stats;norefresh"
    before = server_rows(load(url, tmp_path)[0])
    traffic(running.ports["fe"], 12)
    running.settled(lambda table: int(table[("be", "a")]["stot"]) >= 6, "be/a counted")
    running.cli("set server be/b state drain")
    dom, shot = load(url, tmp_path)
    after = server_rows(dom)
    assert after["a"][0] == "active_up" and after["b"][0] == "active_draining"
    total = 11  # the Sessions/Total cell: checkbox, name, queue (3), session rate (3), then Cur, Max, Limit, Total
    assert int(after["a"][1][total]) > int(before["a"][1][total])
    seen = colours(shot)
    assert seen[hex_colour("#c0ffc0")] > 200 and seen[hex_colour("#20a0ff")] > 200, shot
    running.cli("set server be/b state ready")
