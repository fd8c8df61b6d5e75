"""Shared-memory layout of one generation (master creates; workers and checker attach by fork).

Standard library only.  One anonymous MAP_SHARED region per generation,
laid out as a header followed by arrays (structure of arrays, so that a
worker reads one typed element per access on its hot path):

    offset 0  +--------------------------------------------------------------+
              | header  magic "LBSHM\\0\\0\\0" | major u16 | minor u16 |         |
              |         generation u32 | nslots u32 | nservers u32 |          |
              |         nbackends u32 | nproxies u32 | created_ms u64 | pad   |  64 bytes
              +--------------------------------------------------------------+
              | slots[nslots]      pid i32 | generation u32 | heartbeat u64 |  |
              |                    state u32 | pad                          |  32 bytes each
              +--------------------------------------------------------------+
              | srv_up[nservers]          u8   writer: checker: 1 up,       |
              |                                0 down, 2 up but NOLB        |
              | srv_status[nservers]      u8   (index in checker STATUSES)  |
              | srv_health[nservers]      u16  rise/fall counter            |
              | srv_code[nservers]        u16  last L7 status code          |
              | srv_duration[nservers]    u32  last check duration, ms      |
              | srv_change[nservers]      u64  last state change, epoch ms  |
              | srv_checks[nservers]      u64  checks run, failed << 32     |
              | srv_downs[nservers]       u32  UP->DOWN transitions         |
              | srv_downtime[nservers]    u64  ms spent DOWN before the     |
              |                                last change (chkdown,        |
              |                                downtime in the stats)       |
              | srv_checking[nservers]    u8   1 while a check runs         |
              | srv_health_ack[nservers]  u32  last srv_health_req applied  |
              | srv_info[nservers][INFO_SIZE] u8  last check's info text,   |
              |                                NUL padded (last_chk)        |
              +--------------------------------------------------------------+
              | srv_admin[nservers]       u8   writer: master (runtime API) |
              | srv_weight[nservers]      u16  writer: master               |
              | versions[2]               u64  [0] checker: bumped when an  |
              |                                srv_up changes; [1] master:  |
              |                                when admin, weight or        |
              |                                maxconn changes              |
              | srv_maxconn[nservers]     u32  master: runtime maxconn      |
              | srv_check_admin[nservers] u8   master: CHECK_DISABLED,      |
              |                                AGENT_DISABLED bits          |
              | srv_health_req[nservers]  u32  master: seq << 2 | HEALTH_*  |
              | srv_shutdown[nservers]    u32  master: bumped by "shutdown  |
              |                                sessions server"             |
              | fe_disabled[nproxies]     u8   master: 1 = paused frontend  |
              | fe_maxconn[nproxies]      u32  master: runtime maxconn      |
              | control[NCONTROL]         u64  master: CTRL_* cells         |
              | sampled[nobjects][NSAMPLED] u32  master: rates and maxima   |
              |                                it samples (SAMPLED)         |
              | be_change[nbackends]      u64  master: backend UP/DOWN      |
              |                                change, epoch ms             |
              | be_downs[nbackends]       u32  master: UP->DOWN transitions |
              | be_downtime[nbackends]    u64  master: ms DOWN before the   |
              |                                last change                  |
              +--------------------------------------------------------------+
              | conns[nslots][nservers]   u32  writer: worker of the slot   |
              | queued[nslots][nservers]  u32  writer: worker of the slot   |
              | picks[nslots][nbackends]  u64  writer: worker of the slot   |
              | beconn[nslots][nbackends] u32  writer: worker of the slot   |
              | bequeued[nslots][nbackends] u32 writer: worker of the slot  |
              | feconn[nslots][nproxies]  u32  writer: worker of the slot   |
              | actconn[nslots]           u32  writer: worker of the slot   |
              | stats_ack[nslots]         u64  writer: worker of the slot:  |
              |                                CTRL_CLEAR_EPOCH it applied  |
              | counters[nslots][nobjects][NCOUNTERS] u64  writer: the      |
              |                                process of the slot          |
              | carried[nobjects][NCOUNTERS] i64  writer: master            |
              +--------------------------------------------------------------+

Every field has exactly one writer, so no cross-process lock exists: a
reader summing a column may see a value one event old, which balancing and
statistics accept.  Arrays are aligned to 8 bytes.

Objects (rows of `counters`, `carried` and `sampled`), `nobjects` of them:

    [0, nproxies)                    one per proxy of Config.proxies(): the
                                     frontend side of frontends and listens
    [nproxies, +nservers)            servers, in Config.all_servers() order
    [.., +nbackends)                 the backend side of each backend, in
                                     Config.backends order (a listen has
                                     two rows: its frontend's and this one)
    [.., +nlisteners)                listeners (`option socket-stats`): every
                                     bind of Config.frontends, in order

ShmTable.frontend_obj/server_obj/backend_obj/listener_obj compute them.
(Generations before MINOR 3 counted a backend in its proxy row; the stats
model still adds the proxy row of a pure backend to its backend row, which
is exact both ways since nothing else writes that row.)

Slots: 0 .. nworkers-1 are the workers, then the checker's slot
(`checker_slot`).  `carried` holds what objects of the same name counted
in other generations (counters survive reloads): generations that are gone,
plus the live totals of older generations still draining, refreshed by the
master every tick; readers add it to the sum of the slots' rows.  It is
signed: `clear counters all` makes it the negated total so that the sum
restarts from 0 without touching the workers' rows.  Only the master writes
it.  How each counter combines over slots and `carried` (sum, max, sliding
average) is `COMBINE`; lb.stats.model applies it.

Gauges and queues: `conns` counts a worker's requests (HTTP) or streams
(TCP) in flight on a server; `queued` those waiting for one server in
particular (persistence to a server at its maxconn); `bequeued` those
waiting for any server of a backend (every usable server at its maxconn);
`beconn` a worker's streams assigned to a backend (%bc, scur).

Runtime API fields (master writes, others apply; see lb.runtime_api):
`srv_maxconn` and `fe_maxconn` replace the configured maxconn (0: none),
`control[CTRL_MAXCONN]` the global one (0: the configured one).
`srv_health_req` asks the checker to force a server's health (the checker
stays the only writer of health: it applies the request once and stores
its sequence number in `srv_health_ack`).  `srv_check_admin` stops and
restarts a server's checks.  `fe_disabled` pauses a frontend's listeners.
`srv_shutdown` changes when every stream on the server must be closed.
`control[CTRL_CLEAR_EPOCH]` changes on `clear counters`: each worker then
zeroes the "max" cells of its rows (and, when `control[CTRL_CLEAR_ALL]`
equals the epoch, its "swrate" and last_session cells too) and writes the
epoch into `stats_ack[slot]`; readers ignore such cells of slots that have
not acknowledged the epoch yet.
"""

from __future__ import annotations

import struct

MAGIC = b"LBSHM\0\0\0"
MAJOR = 1
MINOR = 4
HEALTH_VERSION = 0  # versions[] cells: the checker's and the master's change counters
ADMIN_VERSION = 1

HEADER = struct.Struct("<8sHHIIIIIQI")  # ... created_ms, nlisteners
HEADER_SIZE = 64
SLOT = struct.Struct("<iIQI")
SLOT_SIZE = 32

def slot_count(nworkers: int) -> int:
    """Slots of a generation: its workers, then the checker."""
    return nworkers + 1


# process slot states
SLOT_FREE = 0
SLOT_BOOTING = 1
SLOT_RUNNING = 2
SLOT_STOPPING = 3

# srv_admin values (master writes; `disabled` servers start in MAINT)
ADMIN_READY = 0
ADMIN_DRAIN = 1
ADMIN_MAINT = 2

# Per-object counters, one u64 each, in every slot's row (HAProxy's CSV name
# in brackets).  Cumulative unless said otherwise; "max" cells hold this
# slot's own maximum, "swrate" cells HAProxy's sliding sum over the last
# TIME_STATS_SAMPLES values (average = (sum + n - 1) // n).
COUNTERS = (
    "sessions",         # [stot] sessions (TCP streams, HTTP connections; servers: streams/requests)
    "bytes_in",         # [bin]
    "bytes_out",        # [bout]
    "denied_req",       # [dreq] requests denied by rules
    "denied_resp",      # [dresp] responses denied by rules
    "req_errors",       # [ereq] request errors
    "conn_errors",      # [econ] failed connection attempts to servers
    "resp_errors",      # [eresp] response errors (bad response, server aborts before headers)
    "retries",          # [wretr]
    "redispatches",     # [wredis]
    "lbtot",            # [lbtot] times a server was selected
    "requests",         # [req_tot] HTTP requests
    "cli_aborts",       # [cli_abrt] transfers aborted by the client
    "srv_aborts",       # [srv_abrt] transfers aborted by the server
    "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other",
    "queue_timeouts",   # requests that left a queue on timeout queue (no CSV column)
    "no_server",        # streams that found no usable server (no CSV column)
    "intercepted",      # [intercepted] requests answered by lb itself (stats page, use-service)
    "internal_errors",  # [eint] internal errors (a bug caught by the loop)
    "sessions_max",     # [smax] max: this slot's own highest concurrent sessions
    "queue_max",        # [qmax] max: this slot's own longest queue
    "last_session",     # [lastsess] epoch seconds of this slot's last session (0: none)
    "qtime",            # [qtime] swrate of queue times, ms
    "ctime",            # [ctime] swrate of connect times, ms
    "rtime",            # [rtime] swrate of response times, ms
    "ttime",            # [ttime] swrate of total times, ms
    "time_samples",     # samples in the swrate cells above (0: readers fall back on requests/lbtot)
    "denied_conn",      # [dcon] connections refused by `tcp-request connection` rules
    "denied_sess",      # [dses] sessions refused by `tcp-request session` rules
)  # fmt: skip
TIME_STATS_SAMPLES = 1024  # HAProxy's TIME_STATS_SAMPLES
COUNTER = {name: index for index, name in enumerate(COUNTERS)}
NCOUNTERS = len(COUNTERS)

# How readers combine a counter over the slots' rows and `carried`:
SUM, MAX, SWRATE = "sum", "max", "swrate"
COMBINE = {name: SUM for name in COUNTERS} | {
    "sessions_max": MAX, "queue_max": MAX, "last_session": MAX,
    "qtime": SWRATE, "ctime": SWRATE, "rtime": SWRATE, "ttime": SWRATE,
}  # fmt: skip
# Cells a worker resets on `clear counters` (max) and `clear counters all` (the rest).
CLEARED_MAX = ("sessions_max", "queue_max")
CLEARED_ALL = ("last_session", "qtime", "ctime", "rtime", "ttime", "time_samples")

# sampled[obj][...] cells: what the master measures every tick from the
# counters above (HAProxy's freq counters and their maxima), u32 each.
SAMPLED = (
    "rate",          # [rate] sessions over the last second
    "rate_max",      # [rate_max]
    "req_rate",      # [req_rate] HTTP requests over the last second
    "req_rate_max",  # [req_rate_max]
    "conn_max",      # [smax] highest concurrent sessions seen at a tick
    "queue_max",     # [qmax] longest queue seen at a tick
)  # fmt: skip
SAMPLE = {name: index for index, name in enumerate(SAMPLED)}
NSAMPLED = len(SAMPLED)

# control[] cells (master writes)
CTRL_MAXCONN = 0  # runtime global maxconn per worker, 0: the configured one
CTRL_CLEAR_EPOCH = 1  # bumped by every `clear counters`
CTRL_CLEAR_ALL = 2  # the epoch of the last `clear counters all`
CTRL_SESS_RATE_MAX = 3  # highest sum of the frontends' session rates (show info MaxSessRate)
NCONTROL = 8

# srv_check_admin bits (master writes; the checker and readers follow them)
CHECK_DISABLED = 1  # `disable health`
AGENT_DISABLED = 2  # `disable agent`

# srv_health_req operations: value = sequence << 2 | operation
HEALTH_UP = 1
HEALTH_STOPPING = 2
HEALTH_DOWN = 3

# srv_up values (checker writes)
SRV_DOWN = 0
SRV_UP = 1
SRV_NOLB = 2  # up, but takes no new load-balanced traffic (`set server ... health stopping`)

INFO_SIZE = 128  # bytes of srv_info per server


def _align(n: int) -> int:
    return (n + 7) & ~7


def object_count(nservers: int, nbackends: int, nproxies: int, nlisteners: int = 0) -> int:
    return nproxies + nservers + nbackends + nlisteners


def arrays(nslots: int, nservers: int, nbackends: int, nproxies: int,
           nlisteners: int = 0) -> list[tuple[str, str, int]]:  # fmt: skip
    """(name, struct format char, element count) of every array, in layout order."""
    nobjects = object_count(nservers, nbackends, nproxies, nlisteners)
    return [
        ("srv_up", "B", nservers),
        ("srv_status", "B", nservers),
        ("srv_health", "H", nservers),
        ("srv_code", "H", nservers),
        ("srv_duration", "I", nservers),
        ("srv_change", "Q", nservers),
        ("srv_checks", "Q", nservers),
        ("srv_downs", "I", nservers),
        ("srv_downtime", "Q", nservers),
        ("srv_checking", "B", nservers),
        ("srv_health_ack", "I", nservers),
        ("srv_info", "B", nservers * INFO_SIZE),
        ("srv_admin", "B", nservers),
        ("srv_weight", "H", nservers),
        ("versions", "Q", 2),
        ("srv_maxconn", "I", nservers),
        ("srv_check_admin", "B", nservers),
        ("srv_health_req", "I", nservers),
        ("srv_shutdown", "I", nservers),
        ("fe_disabled", "B", nproxies),
        ("fe_maxconn", "I", nproxies),
        ("control", "Q", NCONTROL),
        ("sampled", "I", nobjects * NSAMPLED),
        ("be_change", "Q", nbackends),
        ("be_downs", "I", nbackends),
        ("be_downtime", "Q", nbackends),
        ("conns", "I", nslots * nservers),
        ("queued", "I", nslots * nservers),
        ("picks", "Q", nslots * nbackends),
        ("beconn", "I", nslots * nbackends),
        ("bequeued", "I", nslots * nbackends),
        ("feconn", "I", nslots * nproxies),
        ("actconn", "I", nslots),
        ("stats_ack", "Q", nslots),
        ("counters", "Q", nslots * nobjects * NCOUNTERS),
        ("carried", "q", nobjects * NCOUNTERS),
    ]


def offsets(nslots: int, nservers: int, nbackends: int, nproxies: int,
            nlisteners: int = 0) -> tuple[dict[str, tuple[int, str, int]], int]:  # fmt: skip
    """{array name: (offset, format, count)} and the total size in bytes."""
    position = HEADER_SIZE + nslots * SLOT_SIZE
    table = {}
    for name, fmt, count in arrays(nslots, nservers, nbackends, nproxies, nlisteners):
        position = _align(position)
        table[name] = (position, fmt, count)
        position += struct.calcsize(fmt) * max(count, 0)
    return table, _align(position)
