"""seed_health: HAProxy's initial state, init-state, and health kept across a reload."""

from lb.checker import seed_health
from lb.checker import status as st
from lb.shm.table import ShmTable
from tests.checker.helpers import parse


def shm_for(config) -> ShmTable:
    return ShmTable(1, 2, len(config.all_servers()), len(config.backends), len(config.proxies()))


def state(shm, i):
    return shm.srv_up[i], shm.srv_health[i], shm.srv_status[i]


def seeded(tmp_path, body, old=None):
    config = parse(tmp_path, body)
    shm = shm_for(config)
    if old is None:
        seed_health(shm, config)
    else:
        seed_health(shm, config, old[1], old[0])
    return config, shm


SERVERS = """backend be
  server plain 127.0.0.1:1
  server checked 127.0.0.1:2 check
  server fup 127.0.0.1:3 check init-state fully-up
  server down 127.0.0.1:4 check init-state down
  server fdown 127.0.0.1:5 check init-state fully-down rise 3
"""


def test_initial_states(tmp_path):
    _config, shm = seeded(tmp_path, SERVERS)
    assert [state(shm, i) for i in range(5)] == [
        (1, 0, st.UNK),   # no check: always up
        (1, 2, st.INI),   # up, falls at the first failure
        (1, 4, st.INI),
        (0, 1, st.INI),   # one success brings it up
        (0, 0, st.INI),
    ]
    assert all(shm.srv_change[i] > 0 for i in range(5))


def test_reload_keeps_health_by_name(tmp_path):
    old = seeded(tmp_path, SERVERS)
    old[1].srv_up[1], old[1].srv_health[1], old[1].srv_status[1], old[1].srv_code[1] = 0, 0, st.L4CON, 0
    old[1].srv_change[1] = 12345
    # the new config reorders servers, adds one, removes one and changes rise/fall of another
    _config, shm = seeded(tmp_path, """backend be
  server new 127.0.0.1:9 check
  server checked 127.0.0.1:2 check
  server fup 127.0.0.1:3 check rise 3 fall 5
""", old)
    assert state(shm, 0) == (1, 2, st.INI)
    assert state(shm, 1) == (0, 0, st.L4CON) and shm.srv_change[1] == 12345
    assert state(shm, 2) == (1, 7, st.INI)  # fully up stays fully up with the new bounds


def test_a_changed_check_target_starts_fresh(tmp_path):
    old = seeded(tmp_path, SERVERS)
    old[1].srv_up[1], old[1].srv_health[1] = 0, 0
    _config, shm = seeded(tmp_path, "backend be\n  server checked 127.0.0.1:2 check port 99\n", old)
    assert state(shm, 0) == (1, 2, st.INI)


def test_a_server_in_another_backend_is_another_server(tmp_path):
    old = seeded(tmp_path, SERVERS)
    old[1].srv_up[1], old[1].srv_health[1] = 0, 0
    _config, shm = seeded(tmp_path, "backend other\n  server checked 127.0.0.1:2 check\n", old)
    assert state(shm, 0) == (1, 2, st.INI)
