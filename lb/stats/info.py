"""`show info`: the process-wide fields lb can fill honestly (any process).

A pure function of the configuration, the active generation's shared memory
and a few facts about the master.  lb is several processes: `Nbproc` is the
number of workers (each has one thread: `Nbthread` 1), `Pid` and the uptime
are the master's, counters are the sums over the frontends.  Fields that
describe HAProxy internals lb does not have (memory pools, pipes, SSL
caches, tasks, peers...) are left out, as HAProxy leaves out what it does
not fill.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from lb import __version__
from lb.config.model import Config
from lb.shm import layout
from lb.shm.table import ShmTable
from lb.stats import combine
from lb.stats.fields import Field, info_field
from lb.stats.objects import catalog


@dataclass
class ProcessFacts:
    pid: int  # the master's
    started: float  # epoch seconds the master started
    now: float
    nworkers: int
    stopping: bool
    listeners: int  # listening sockets: binds and stats sockets
    ulimit_n: int
    maxconn: int  # per-worker global maxconn in effect (runtime or configured)
    hard_maxconn: int  # the configured one


def uptime_text(seconds: int) -> str:
    return f"{seconds // 86400}d {(seconds % 86400) // 3600}h{(seconds % 3600) // 60:02d}m{seconds % 60:02d}s"


def info_fields(config: Config, shm: ShmTable, facts: ProcessFacts) -> dict[str, Field]:
    frontends = [obj for obj in catalog(config, shm.nproxies, shm.nservers, shm.nbackends) if obj.kind == "F"]
    sessions = requests = rate = 0
    for obj in frontends:
        totals = combine.totals(shm, obj.rows[0], obj.http)
        sessions += totals[layout.COUNTER["sessions"]]
        requests += totals[layout.COUNTER["requests"]]
        rate += shm.sampled[shm.sampled_index(obj.rows[0], "rate")]
    up = max(0, int(facts.now - facts.started))
    values: dict[str, int | str] = {
        "Name": "lb", "Version": __version__, "Nbthread": 1, "Nbproc": facts.nworkers, "Process_num": 1,
        "Pid": facts.pid, "Uptime": uptime_text(up), "Uptime_sec": up, "Start_time_sec": int(facts.started),
        "Memmax_MB": 0, "Memmax_bytes": 0, "Ulimit-n": facts.ulimit_n, "Maxconn": facts.maxconn,
        "Hard_maxconn": facts.hard_maxconn, "CurrConns": sum(shm.actconn), "CumConns": sessions,
        "CumReq": requests, "SessRate": rate, "SessRateLimit": 0,
        "MaxSessRate": shm.control[layout.CTRL_SESS_RATE_MAX], "node": socket.gethostname(),
        "Stopping": 1 if facts.stopping else 0, "Listeners": facts.listeners, "Build info": __version__,
        "Tainted": "0",
    }  # fmt: skip
    return {name: info_field(name, value) for name, value in values.items()}
