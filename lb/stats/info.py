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
from lb.stats.fields import Field
from lb.stats.objects import catalog

# show info: (name, tag:type, description) at positions 0..71 (HAProxy 2.6.12).
INFO_FIELDS = (
    ('Name', 'POS:str', 'Product name'),
    ('Version', 'POS:str', 'Product version'),
    ('Release_date', 'POS:str', 'Date of latest source code update'),
    ('Nbthread', 'CGS:u32', 'Number of started threads (global.nbthread)'),
    ('Nbproc', 'CGS:u32', 'Number of started worker processes (historical, always 1)'),
    ('Process_num', 'KGP:u32', 'Relative worker process number (1)'),
    ('Pid', 'SGP:u32', 'This worker process identifier for the system'),
    ('Uptime', 'MDP:str', 'How long ago this worker process was started (days+hours+minutes+seconds)'),
    ('Uptime_sec', 'MDP:u32', 'How long ago this worker process was started (seconds)'),
    ('Memmax_MB', 'CLP:u32', "Worker process's hard limit on memory usage in MB (-m on command line)"),
    ('PoolAlloc_MB', 'MGP:u32', 'Amount of memory allocated in pools (in MB)'),
    ('PoolUsed_MB', 'MGP:u32', 'Amount of pool memory currently used (in MB)'),
    ('PoolFailed', 'MCP:u32', 'Number of failed pool allocations since this worker was started'),
    ('Ulimit-n', 'CLP:u32', 'Hard limit on the number of per-process file descriptors'),
    ('Maxsock', 'CLP:u32', 'Hard limit on the number of per-process sockets'),
    ('Maxconn', 'CLP:u32', 'Hard limit on the number of per-process connections (configured or imposed by Ulimit-n)'),
    ('Hard_maxconn', 'CLP:u32', 'Hard limit on the number of per-process connections (imposed by Memmax_MB or '
                                'Ulimit-n)'),
    ('CurrConns', 'MGP:u32', 'Current number of connections on this worker process'),
    ('CumConns', 'MCP:u32', 'Total number of connections on this worker process since started'),
    ('CumReq', 'MCP:u32', 'Total number of requests on this worker process since started'),
    ('MaxSslConns', 'MMP:u32', 'Hard limit on the number of per-process SSL endpoints (front+back), 0=unlimited'),
    ('CurrSslConns', 'MGP:u32', 'Current number of SSL endpoints on this worker process (front+back)'),
    ('CumSslConns', 'MCP:u32', 'Total number of SSL endpoints on this worker process since started (front+back)'),
    ('Maxpipes', 'CLP:u32', 'Hard limit on the number of pipes for splicing, 0=unlimited'),
    ('PipesUsed', 'MGP:u32', 'Current number of pipes in use in this worker process'),
    ('PipesFree', 'MGP:u32', 'Current number of allocated and available pipes in this worker process'),
    ('ConnRate', 'MRP:u32', 'Number of front connections created on this worker process over the last second'),
    ('ConnRateLimit', 'CLP:u32', 'Hard limit for ConnRate (global.maxconnrate)'),
    ('MaxConnRate', 'MMP:u32', 'Highest ConnRate reached on this worker process since started (in connections per '
                               'second)'),
    ('SessRate', 'MRP:u32', 'Number of sessions created on this worker process over the last second'),
    ('SessRateLimit', 'CLP:u32', 'Hard limit for SessRate (global.maxsessrate)'),
    ('MaxSessRate', 'MRP:u32', 'Highest SessRate reached on this worker process since started (in sessions per '
                               'second)'),
    ('SslRate', 'MRP:u32', 'Number of SSL connections created on this worker process over the last second'),
    ('SslRateLimit', 'CLP:u32', 'Hard limit for SslRate (global.maxsslrate)'),
    ('MaxSslRate', 'MMP:u32', 'Highest SslRate reached on this worker process since started (in connections per '
                              'second)'),
    ('SslFrontendKeyRate', 'MGP:u32', 'Number of SSL keys created on frontends in this worker process over the last'
                                      ' second'),
    ('SslFrontendMaxKeyRate', 'MMP:u32', 'Highest SslFrontendKeyRate reached on this worker process since started '
                                         '(in SSL keys per second)'),
    ('SslFrontendSessionReuse_pct', 'MGP:u32', 'Percent of frontend SSL connections which did not require a new key'),
    ('SslBackendKeyRate', 'MRP:u32', 'Number of SSL keys created on backends in this worker process over the last '
                                     'second'),
    ('SslBackendMaxKeyRate', 'MMP:u32', 'Highest SslBackendKeyRate reached on this worker process since started (in'
                                        ' SSL keys per second)'),
    ('SslCacheLookups', 'MCP:u32', 'Total number of SSL session ID lookups in the SSL session cache on this worker '
                                   'since started'),
    ('SslCacheMisses', 'MCP:u32', "Total number of SSL session ID lookups that didn't find a session in the SSL "
                                  'session cache on this worker since started'),
    ('CompressBpsIn', 'MRP:u32', 'Number of bytes submitted to the HTTP compressor in this worker process over the '
                                 'last second'),
    ('CompressBpsOut', 'MRP:u32', 'Number of bytes emitted by the HTTP compressor in this worker process over the '
                                  'last second'),
    ('CompressBpsRateLim', 'CLP:u32', 'Limit of CompressBpsOut beyond which HTTP compression is automatically '
                                      'disabled'),
    ('ZlibMemUsage', 'MGP:u32', 'Amount of memory currently used by HTTP compression on the current worker process '
                                '(in bytes)'),
    ('MaxZlibMemUsage', 'CLP:u32', 'Limit on the amount of memory used by HTTP compression above which it is '
                                   'automatically disabled (in bytes, see global.maxzlibmem)'),
    ('Tasks', 'MGP:u32', 'Total number of tasks in the current worker process (active + sleeping)'),
    ('Run_queue', 'MGP:u32', 'Total number of active tasks+tasklets in the current worker process'),
    ('Idle_pct', 'MaP:u32', 'Percentage of last second spent waiting in the current worker thread'),
    ('node', 'COS:str', 'Node name (global.node)'),
    ('description', 'COS:str', 'Node description (global.description)'),
    ('Stopping', 'MGP:u32', '1 if the worker process is currently stopping, otherwise zero'),
    ('Jobs', 'MGP:u32', 'Current number of active jobs on the current worker process (frontend connections, master '
                        'connections, listeners)'),
    ('Unstoppable Jobs', 'MGP:u32', 'Current number of unstoppable jobs on the current worker process (master '
                                    'connections)'),
    ('Listeners', 'MGP:u32', 'Current number of active listeners on the current worker process'),
    ('ActivePeers', 'MGP:u32', 'Current number of verified active peers connections on the current worker process'),
    ('ConnectedPeers', 'MGP:u32', 'Current number of peers having passed the connection step on the current worker '
                                  'process'),
    ('DroppedLogs', 'MGP:u32', 'Total number of dropped logs for current worker process since started'),
    ('BusyPolling', 'MGP:u32', '1 if busy-polling is currently in use on the worker process, otherwise zero '
                               '(config.busy-polling)'),
    ('FailedResolutions', 'MGP:u32', 'Total number of failed DNS resolutions in current worker process since started'),
    ('TotalBytesOut', 'MGP:u64', 'Total number of bytes emitted by current worker process since started'),
    ('TotalSplicdedBytesOut', 'MGP:u64', 'Total number of bytes emitted by current worker process through a kernel '
                                         'pipe since started'),
    ('BytesOutRate', 'MRP:u64', 'Number of bytes emitted by current worker process over the last second'),
    ('DebugCommandsIssued', 'MGP:u32', 'Number of debug commands issued on this process (anything > 0 is unsafe)'),
    ('CumRecvLogs', 'MCP:u32', 'Total number of log messages received by log-forwarding listeners on this worker '
                               'process since started'),
    ('Build info', 'POS:str', 'Build info'),
    ('Memmax_bytes', 'CLP:u32', "Worker process's hard limit on memory usage in byes (-m on command line)"),
    ('PoolAlloc_bytes', 'MGP:u64', 'Amount of memory allocated in pools (in bytes)'),
    ('PoolUsed_bytes', 'MGP:u64', 'Amount of pool memory currently used (in bytes)'),
    ('Start_time_sec', 'MDP:u32', 'Start time in seconds'),
    ('Tainted', 'SGP:str', 'Experimental features used'),
)  # fmt: skip
INFO_NAMES: tuple[str, ...] = tuple(row[0] for row in INFO_FIELDS)
INFO_POSITION = {name: position for position, name in enumerate(INFO_NAMES)}


def info_field(name: str, value: int | str) -> Field:
    tag, kind_type = INFO_FIELDS[INFO_POSITION[name]][1].split(":")
    return Field(tag, kind_type, value)



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
