"""Server and backend state as HAProxy's statistics show it (any process).

Pure functions of one generation's shared memory and configuration: the
`status` text of a server (`UP 2/3`, `DRAIN`, `no check`, `MAINT` ...,
HAProxy's stats_fill_sv_stats_computestate), whether a server is usable
for load balancing, and a backend's effective weights and status.
"""

from __future__ import annotations

from typing import NamedTuple

from lb.checker import health as hl
from lb.config.model import Server
from lb.shm import layout
from lb.shm.table import ShmTable


def check_enabled(shm: ShmTable, index: int, server: Server) -> bool:
    """A configured health check that `disable health` has not turned off."""
    return server.check and not shm.srv_check_admin[index] & layout.CHECK_DISABLED


def server_status(shm: ShmTable, index: int, server: Server) -> str:
    admin, up, health = shm.srv_admin[index], shm.srv_up[index], shm.srv_health[index]
    if admin == layout.ADMIN_MAINT:
        return "MAINT"
    checked = check_enabled(shm, index, server)
    top = hl.fully_up(server.rise, server.fall)
    counts = f"{health - server.rise + 1}/{server.fall}" if up else f"{health}/{server.rise}"
    if up == layout.SRV_NOLB:
        return "NOLB" if not checked or health == top else f"NOLB {counts}"
    if up:
        going_down = checked and health < top
        if admin == layout.ADMIN_DRAIN:
            return f"DRAIN {counts}" if going_down else "DRAIN"
        if going_down:
            return f"UP {counts}"
        return "UP" if checked else "no check"
    if checked and health:
        return f"DOWN {counts}"
    return "DOWN"


def server_usable(shm: ShmTable, index: int) -> bool:
    """Takes load-balanced traffic: up (not NOLB), READY, weight above 0 (HAProxy's srv_currently_usable)."""
    return (shm.srv_up[index] == layout.SRV_UP and shm.srv_admin[index] == layout.ADMIN_READY
            and shm.srv_weight[index] > 0)  # fmt: skip


def server_running(shm: ShmTable, index: int) -> bool:
    """Not stopped (HAProxy's cur_state != SRV_ST_STOPPED): up or NOLB, and not in MAINT."""
    return bool(shm.srv_up[index]) and shm.srv_admin[index] != layout.ADMIN_MAINT


class BackendWeights(NamedTuple):
    active: int  # act: usable active servers
    backup: int  # bck: usable backup servers
    weight: int  # the weights of the servers that take the traffic (HAProxy's tot_weight)
    uweight: int  # their user weights (HAProxy's totuw)
    up: int  # servers not stopped (the "(up/total)" of `show stat up|no-maint`)

    @property
    def status(self) -> str:
        return "UP" if self.weight > 0 else "DOWN"


def backend_weights(shm: ShmTable, servers: list[tuple[int, Server]], allbackups: bool) -> BackendWeights:
    """`servers`: (shm index, Server) of one backend, in order."""
    actives = [i for i, s in servers if not s.backup and server_usable(shm, i)]
    backups = [i for i, s in servers if s.backup and server_usable(shm, i)]
    up = sum(1 for i, _s in servers if server_running(shm, i))
    if actives:
        weight = sum(shm.srv_weight[i] for i in actives)
    elif backups:
        weight = sum(shm.srv_weight[i] for i in (backups if allbackups else backups[:1]))
    else:
        weight = 0
    taking = actives or (backups if allbackups else backups[:1])
    return BackendWeights(len(actives), len(backups), weight, sum(shm.srv_weight[i] for i in taking), up)


def backend_up(shm: ShmTable, servers: list[tuple[int, Server]], allbackups: bool) -> bool:
    """HAProxy's backend status: UP while some server takes traffic, or when it has no server."""
    return not servers or backend_weights(shm, servers, allbackups).weight > 0
