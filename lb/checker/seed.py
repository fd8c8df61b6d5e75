"""Initial health of a generation's servers, written before its processes fork (master).

`seed_health()` runs in the master on the new generation's ShmTable.  A
server that keeps its `backend/server` name and its check target across a
reload starts from the state the previous generation's checker left in the
old shm (HAProxy forgets it unless a server-state-file is used; issues
#199, #918): a reload never sends traffic to a server known to be down.
Other servers start as HAProxy starts them (lb.checker.health.initial).
"""

from __future__ import annotations

import time

from lb.checker import health as hl
from lb.checker import status as st
from lb.config.model import Config, Server
from lb.shm.table import ShmTable


def _check_target(server: Server) -> tuple:
    """What makes two server lines "the same check": where the check goes."""
    return (server.host, server.port, server.check_addr, server.check_port)


def carries_over(old: Server, new: Server) -> bool:
    return old.check and new.check and _check_target(old) == _check_target(new)


def seed_health(shm: ShmTable, config: Config, old_shm: ShmTable | None = None,
                old_config: Config | None = None) -> None:
    """Write srv_up/health/status/code/duration/change for every server of `config`.

    Index = position in `config.all_servers()`.  srv_admin and srv_weight
    are the master's to initialise.  A server kept across a reload keeps its
    check counters (srv_checks, srv_downs, srv_downtime) and last info.
    """
    previous: dict[tuple[str, str], tuple[int, Server]] = {}
    if old_shm is not None and old_config is not None:
        for index, (backend, server) in enumerate(old_config.all_servers()):
            previous[(backend.name, server.name)] = (index, server)
    now = int(time.time() * 1000)
    for index, (backend, server) in enumerate(config.all_servers()):
        old = previous.get((backend.name, server.name))
        if old is not None and carries_over(old[1], server):
            _copy(shm, index, old_shm, old[0], old[1], server)  # type: ignore[arg-type]
        else:
            _fresh(shm, index, server, now)


def _fresh(shm: ShmTable, index: int, server: Server, now: int) -> None:
    if server.check:
        health, up = hl.initial(server.rise, server.fall, server.init_state)
        status = st.INI
    else:  # no check: always available (HAProxy)
        health, up, status = 0, True, st.UNK
    shm.srv_health[index] = health
    shm.srv_status[index] = status
    shm.srv_code[index] = 0
    shm.srv_duration[index] = 0
    shm.srv_change[index] = now
    shm.srv_checks[index] = 0
    shm.srv_up[index] = 1 if up else 0


def _copy(shm: ShmTable, index: int, old_shm: ShmTable, old_index: int, old: Server, new: Server) -> None:
    counter = hl.carry(old_shm.srv_health[old_index], bool(old_shm.srv_up[old_index]),
                       old.rise, old.fall, new.rise, new.fall)
    shm.srv_health[index] = counter.health
    shm.srv_status[index] = old_shm.srv_status[old_index]
    shm.srv_code[index] = old_shm.srv_code[old_index]
    shm.srv_duration[index] = old_shm.srv_duration[old_index]
    shm.srv_change[index] = old_shm.srv_change[old_index]
    shm.srv_checks[index] = old_shm.srv_checks[old_index]  # chkfail goes on counting across reloads
    shm.srv_downs[index] = old_shm.srv_downs[old_index]
    shm.srv_downtime[index] = old_shm.srv_downtime[old_index]
    shm.set_server_info(index, old_shm.server_info(old_index))
    shm.srv_up[index] = 1 if counter.up else 0
