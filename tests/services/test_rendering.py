"""The stats page's small renderers and the admin form's parser (pure functions; unit)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lb.shm import layout
from lb.services import stats_admin
from lb.services.htmltext import human_time, lim2a, u2h
from lb.services.stats_rows import server_style, status_cell
from tests.services.helpers import Lab
from tests.stats.helpers import stat

RLS = '<span class="rls">{}</span>'


@pytest.mark.parametrize("number,text", [
    (0, "0"), (999, "999"), (9984, RLS.format(9) + "984"), (31738, "3" + RLS.format(1) + "738"),
    (1234567, RLS.format(1) + "23" + RLS.format(4) + "567"), (None, ""),
])  # fmt: skip
def test_digit_groups_as_haproxy(number: int | None, text: str) -> None:
    assert u2h(number) == text


@pytest.mark.parametrize("seconds,text", [(0, "0s"), (59, "59s"), (60, "1m"), (61, "1m1s"), (3725, "1h2m"),
                                          (86400, "1d"), (90061, "1d1h"), (-1, "?"), (None, "")])
def test_human_time_as_haproxy(seconds: int | None, text: str) -> None:
    assert human_time(seconds) == text


def test_limits() -> None:
    assert (lim2a(0), lim2a(None), lim2a(10), lim2a(0, "")) == ("-", "-", "10", "")


BODY = """
backend be
    server a 127.0.0.1:2 check
    server b 127.0.0.1:3
    server k 127.0.0.1:4 backup check
"""


@pytest.mark.parametrize("index,admin,up,health,weight,style", [
    (0, layout.ADMIN_READY, layout.SRV_UP, 4, 1, "active_up"),
    (0, layout.ADMIN_READY, layout.SRV_UP, 3, 1, "active_going_down"),
    (0, layout.ADMIN_READY, layout.SRV_DOWN, 0, 1, "active_down"),
    (0, layout.ADMIN_READY, layout.SRV_DOWN, 1, 1, "active_going_up"),
    (0, layout.ADMIN_DRAIN, layout.SRV_UP, 4, 1, "active_draining"),
    (0, layout.ADMIN_READY, layout.SRV_NOLB, 4, 1, "active_nolb"),
    (0, layout.ADMIN_READY, layout.SRV_NOLB, 3, 1, "active_going_down"),
    (0, layout.ADMIN_READY, layout.SRV_UP, 4, 0, "active_draining"),  # weight 0: no traffic
    (0, layout.ADMIN_MAINT, layout.SRV_UP, 4, 1, "maintain"),
    (1, layout.ADMIN_READY, layout.SRV_UP, 4, 1, "active_no_check"),
    (2, layout.ADMIN_READY, layout.SRV_UP, 4, 1, "backup_up"),
    (2, layout.ADMIN_READY, layout.SRV_DOWN, 0, 1, "backup_down"),
])  # fmt: skip
def test_row_colour_per_state(tmp_path: Path, index: int, admin: int, up: int, health: int, weight: int,
                              style: str) -> None:  # fmt: skip
    lab = Lab(tmp_path, BODY)
    shm = lab.shm
    shm.srv_admin[index], shm.srv_up[index], shm.srv_health[index], shm.srv_weight[index] = admin, up, health, weight
    row = [r for r in stat(lab.gen) if r.obj.kind == "S"][index]
    assert server_style(row) == style


def test_status_cell_arrows_and_check(tmp_path: Path) -> None:
    lab = Lab(tmp_path, BODY)
    shm = lab.shm
    shm.srv_up[0], shm.srv_health[0], shm.srv_status[0] = layout.SRV_DOWN, 1, 5  # L4CON
    shm.set_server_info(0, "Connection refused")
    shm.srv_admin[1] = layout.ADMIN_DRAIN
    a, b = [r for r in stat(lab.gen) if r.obj.kind == "S"][:2]
    cell = status_cell(a)
    assert "DOWN 1/2 &uarr;</td>" in cell
    assert "<u> L4CON in 0ms<div class=tips>Layer4 connection problem: Connection refused</div></u>" in cell
    assert "DRAIN &darr;</td><td></td>" in status_cell(b)  # HAProxy's arrow for a server without a check


@pytest.mark.parametrize("body,backend,action,servers,error", [
    ("s=a&s=b&action=drain&b=be", "be", "drain", ["b", "a"], ""),
    ("b=be&action=ready&s=a", "be", "ready", ["a"], ""),
    ("action=maint&action=drain&s=a&b=be&b=nosuch", None, "", [], "ERRP"),  # the last b counts: unknown
    ("action=maint&action=drain&s=a&b=be", "be", "drain", ["a"], ""),  # the last action counts
    ("s=a+b&s=c%2Dd&action=drain&b=be", "be", "drain", ["c-d", "a b"], ""),
    ("s=a&s=%zz&action=drain&b=be", "be", "drain", [], ""),  # a bad escape stops the reading (from the end)
    ("s=a&action=drain", None, "drain", [], ""),
])  # fmt: skip
def test_parse_post(tmp_path: Path, body: str, backend: str | None, action: str, servers: list[str],
                    error: str) -> None:  # fmt: skip
    lab = Lab(tmp_path, BODY)
    posted = stats_admin.parse_post(body.encode(), lab.config)
    assert (posted.backend.name if posted.backend else None, posted.action, posted.servers, posted.error) == (
        backend, action, servers, error)


def test_command_lines(tmp_path: Path) -> None:
    lab = Lab(tmp_path, BODY)
    be = lab.config.backends["be"]
    a, b = be.servers[0], be.servers[1]
    line = stats_admin.command_line
    assert line("drain", be, a, 0) == "set server be/a state drain"
    assert line("hnolb", be, a, 0) == "set server be/a health stopping"
    assert line("dhlth", be, a, 0) == "disable health be/a" and line("ehlth", be, b, 0) is None
    assert line("shutdown", be, a, 0) == "shutdown sessions server be/a"
    assert line("disable", be, a, layout.ADMIN_READY) == "disable server be/a"
    assert line("disable", be, a, layout.ADMIN_MAINT) is None
    assert line("start", be, a, layout.ADMIN_DRAIN) == "set server be/a state ready"
    assert line("arunn", be, a, 0) is None
    assert stats_admin.find_backend(lab.config, "#2") is be and stats_admin.find_backend(lab.config, "#x") is None


@pytest.mark.parametrize("total,altered,unreachable,code", [(0, 0, False, "NONE"), (2, 2, False, "DONE"),
                                                            (2, 1, False, "PART"), (2, 0, False, "ERRP"),
                                                            (2, 2, True, "UNKN")])
def test_outcome(total: int, altered: int, unreachable: bool, code: str) -> None:
    assert stats_admin.outcome(total, altered, unreachable) == code
