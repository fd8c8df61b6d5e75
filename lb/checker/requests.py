"""Requests of the runtime API that change health, applied by the checker (checker).

The checker is the only writer of health, so the master does not change it
itself: `set server <be>/<srv> health up|stopping|down` writes a request in
`srv_health_req` (sequence << 2 | operation), and `disable|enable health`
sets a bit in `srv_check_admin`.  Every tick the checker applies what is
new, as HAProxy does at once (src/server.c cli_parse_set_server):

- up: health = rise + fall - 1, the server UP; stopping: the same, but
  NOLB (srv_up = SRV_NOLB: up for persistence, no load-balanced traffic);
  down: health = 0, the server DOWN.  The message is HAProxy's
  `Server be/s1 is DOWN, changed from CLI. ...`;
- a disabled check stops probing; the server keeps its state until a
  check runs again (`enable health`: at the next interval) or health is
  forced.

`srv_health_ack` remembers the last request applied, in shared memory, so
that a restarted checker does not apply it twice.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from lb.checker import health as hl
from lb.checker.messages import Census, Message, _census_tail, backend_down
from lb.checker.report import report
from lb.shm import layout

if TYPE_CHECKING:
    from lb.checker.runner import Checker, ServerRun

STATE_WORDS = {layout.SRV_UP: "UP", layout.SRV_NOLB: "stopping", layout.SRV_DOWN: "DOWN"}


def apply_requests(checker: "Checker") -> None:
    """Once per tick: health requests for every server, check admin bits for checked ones."""
    shm = checker.shm
    for index in range(shm.nservers):
        request = shm.srv_health_req[index]
        if request >> 2 != shm.srv_health_ack[index]:
            shm.srv_health_ack[index] = request >> 2
            force_health(checker, index, request & 3)
    for run in checker.runs:
        follow_check_admin(checker, run)


def force_health(checker: "Checker", index: int, operation: int) -> None:
    shm = checker.shm
    backend, server = checker.servers[index]
    wanted = {layout.HEALTH_UP: layout.SRV_UP, layout.HEALTH_STOPPING: layout.SRV_NOLB}.get(operation, layout.SRV_DOWN)
    shm.srv_health[index] = 0 if wanted == layout.SRV_DOWN else hl.fully_up(server.rise, server.fall)
    before = shm.srv_up[index]
    if before == wanted:
        return
    census_before = checker._census(backend)
    set_up(shm, index, wanted)
    census = checker._census(backend)
    down = wanted == layout.SRV_DOWN
    census = Census(census.active, census.backup, shm.server_conns(index), 0, shm.server_queued(index))
    who = f"{'Backup ' if server.backup else ''}Server {backend.name}/{server.name}"
    text = f"{who} is {STATE_WORDS[wanted]}, changed from CLI" + _census_tail(census, down=down)
    fields = {"backend": backend.name, "server": server.name, "state": STATE_WORDS[wanted]}
    report(Message("WARNING", "alert" if down else "notice", text, text, "server_state", fields), backend)
    if down and census_before.active + census_before.backup > 0 and census.active + census.backup == 0:
        report(backend_down("proxy" if backend.is_frontend else "backend", backend.name), backend)


def set_up(shm, index: int, value: int) -> None:
    """Store a new srv_up, with the transition bookkeeping every writer of health does."""
    before = shm.srv_up[index]
    now = int(time.time() * 1000)
    if before and not value:
        shm.srv_downs[index] += 1
    elif not before and value:
        shm.srv_downtime[index] += max(0, now - shm.srv_change[index])
    shm.srv_up[index] = value
    if before != value:
        shm.srv_change[index] = now
        shm.versions[layout.HEALTH_VERSION] += 1


def follow_check_admin(checker: "Checker", run: "ServerRun") -> None:
    """`disable health` aborts the probe in flight (the loop then skips this
    server's turns); `enable health` lets the next turn probe again.  The
    aborted probe never reports, and reporting is what schedules a server's
    next turn: it is scheduled here, or the server would never be checked
    again."""
    disabled = bool(checker.shm.srv_check_admin[run.target.index] & layout.CHECK_DISABLED)
    if disabled == run.disabled:
        return
    run.disabled = disabled
    if disabled and run.probe is not None:
        run.probe.abort()
        run.probe = None
        checker.shm.srv_checking[run.target.index] = 0
        checker._schedule_next(run)
