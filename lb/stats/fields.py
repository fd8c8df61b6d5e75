"""HAProxy 2.6's statistics fields: names, positions, tags, descriptions (any process).

Standard library only.  The column list and order are those of HAProxy
2.6.12's `show stat` (management.txt section 9.1): 103 static fields, the
`-` separator, then the fields of the ssl, h2 and h1 statistics modules.
Scripts index columns by position, so positions are part of the format.

`TAGS[kind][name]` is the "origin nature scope" tag and value type HAProxy
gives a field for each kind of row (F frontend, B backend, S server, L
listener), as printed by `show stat typed` (e.g. `MGP:u32`: metric, gauge,
process-wide, unsigned 32 bits).  It was recorded from HAProxy 2.6.12 and
is used for lb's typed and JSON output, so a value lb fills carries the tag
HAProxy would give it.  lb.stats.info holds the same table for `show info`.
"""

from __future__ import annotations

from typing import NamedTuple

# (name, frontend tag, backend tag, server tag, listener tag, description);
# "-" where HAProxy never fills the field for that kind of row.
_FIELDS = (
    ('pxname', 'KNS:str', 'KNS:str', 'KNS:str', 'KNS:str',
     'Proxy name'),
    ('svname', 'KNS:str', 'KNS:str', 'KNS:str', 'KNS:str',
     'Server name'),
    ('qcur', '-', 'MGP:u32', 'MGP:u32', '-',
     'Number of current queued connections'),
    ('qmax', '-', 'MMP:u32', 'MMP:u32', '-',
     'Highest value of queued connections encountered since process started'),
    ('scur', 'MGP:u32', 'MGP:u32', 'MGP:u32', 'MGP:u32',
     'Number of current sessions on the frontend, backend or server'),
    ('smax', 'MMP:u32', 'MMP:u32', 'MMP:u32', 'MMP:u32',
     'Highest value of current sessions encountered since process started'),
    ('slim', 'CLP:u32', 'CLP:u32', 'CLP:u32', 'CLP:u32',
     "Frontend/listener/server's maxconn, backend's fullconn"),
    ('stot', 'MCP:u64', 'MCP:u64', 'MCP:u64', 'MCP:u64',
     'Total number of sessions since process started'),
    ('bin', 'MCP:u64', 'MCP:u64', 'MCP:u64', 'MCP:u64',
     'Total number of request bytes since process started'),
    ('bout', 'MCP:u64', 'MCP:u64', 'MCP:u64', 'MCP:u64',
     'Total number of response bytes since process started'),
    ('dreq', 'MCP:u64', 'MCP:u64', '-', 'MCP:u64',
     'Total number of denied requests since process started'),
    ('dresp', 'MCP:u64', 'MCP:u64', 'MCP:u64', 'MCP:u64',
     'Total number of denied responses since process started'),
    ('ereq', 'MCP:u64', '-', '-', 'MCP:u64',
     'Total number of invalid requests since process started'),
    ('econ', '-', 'MCP:u64', 'MCP:u64', '-',
     'Total number of failed connections to server since the worker process started'),
    ('eresp', '-', 'MCP:u64', 'MCP:u64', '-',
     'Total number of invalid responses since the worker process started'),
    ('wretr', '-', 'MCP:u64', 'MCP:u64', '-',
     'Total number of server connection retries since the worker process started'),
    ('wredis', '-', 'MCP:u64', 'MCP:u64', '-',
     'Total number of server redispatches due to connection failures since the worker process started'),
    ('status', 'SGP:str', 'SGP:str', 'SGP:str', 'SGP:str',
     'Frontend/listen status: OPEN/WAITING/FULL/STOP; backend: UP/DOWN; server: last check status'),
    ('weight', '-', 'MaP:u32', 'MaP:u32', '-',
     "Server's effective weight, or sum of active servers' effective weights for a backend"),
    ('act', '-', 'MGP:u32', 'SGP:u32', '-',
     'Total number of active UP servers with a non-zero weight'),
    ('bck', '-', 'MGP:u32', 'SGP:u32', '-',
     'Total number of backup UP servers with a non-zero weight'),
    ('chkfail', '-', '-', 'MCP:u64', '-',
     'Total number of failed individual health checks per server/backend, since the worker process started'),
    ('chkdown', '-', 'MCP:u64', 'MCP:u64', '-',
     'Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker '
     'process started'),
    ('lastchg', '-', 'MAP:u32', 'MAP:u32', '-',
     'How long ago the last server state changed, in seconds'),
    ('downtime', '-', 'MCP:u32', 'MCP:u32', '-',
     'Total time spent in DOWN state, for server or backend'),
    ('qlimit', '-', '-', 'CGS:u32', '-',
     'Limit on the number of connections in queue, for servers only (maxqueue argument)'),
    ('pid', 'KGP:u32', 'KGP:u32', 'KGP:u32', 'KGP:u32',
     'Relative worker process number (1)'),
    ('iid', 'KGS:u32', 'KGS:u32', 'KGS:u32', 'KGS:u32',
     "Frontend or Backend numeric identifier ('id' setting)"),
    ('sid', 'KGS:u32', 'KGS:u32', 'KGS:u32', 'KGS:u32',
     "Server numeric identifier ('id' setting)"),
    ('throttle', '-', '-', '-', '-',
     "Throttling ratio applied to a server's maxconn and weight during the slowstart period (0 to 100%)"),
    ('lbtot', '-', 'MCP:u64', 'MCP:u64', '-',
     'Total number of requests routed by load balancing since the worker process started (ignores queue pop and '
     'stickiness)'),
    ('tracked', '-', '-', '-', '-',
     'Name of the other server this server tracks for its state'),
    ('type', 'CGS:u32', 'CGS:u32', 'CGS:u32', 'CGS:u32',
     'Type of the object (Listener, Frontend, Backend, Server)'),
    ('rate', 'MRP:u32', 'MGP:u32', 'MRP:u32', '-',
     'Total number of sessions processed by this object over the last second (sessions for listeners/frontends, '
     'requests for backends/servers)'),
    ('rate_lim', 'CLP:u32', '-', '-', '-',
     "Limit on the number of sessions accepted in a second (frontend only, 'rate-limit sessions' setting)"),
    ('rate_max', 'MMP:u32', 'MGP:u32', 'MMP:u32', '-',
     'Highest value of sessions per second observed since the worker process started'),
    ('check_status', '-', '-', 'MOP:str', '-',
     "Status report of the server's latest health check, prefixed with '*' if a check is currently in progress"),
    ('check_code', '-', '-', 'MOP:u32', '-',
     'HTTP/SMTP/LDAP status code reported by the latest server health check'),
    ('check_duration', '-', '-', 'MDP:u64', '-',
     'Total duration of the latest server health check, in milliseconds'),
    ('hrsp_1xx', 'MCP:u64', 'MCP:u64', 'MCP:u64', '-',
     'Total number of HTTP responses with status 100-199 returned by this object since the worker process started'),
    ('hrsp_2xx', 'MCP:u64', 'MCP:u64', 'MCP:u64', '-',
     'Total number of HTTP responses with status 200-299 returned by this object since the worker process started'),
    ('hrsp_3xx', 'MCP:u64', 'MCP:u64', 'MCP:u64', '-',
     'Total number of HTTP responses with status 300-399 returned by this object since the worker process started'),
    ('hrsp_4xx', 'MCP:u64', 'MCP:u64', 'MCP:u64', '-',
     'Total number of HTTP responses with status 400-499 returned by this object since the worker process started'),
    ('hrsp_5xx', 'MCP:u64', 'MCP:u64', 'MCP:u64', '-',
     'Total number of HTTP responses with status 500-599 returned by this object since the worker process started'),
    ('hrsp_other', 'MCP:u64', 'MCP:u64', 'MCP:u64', '-',
     'Total number of HTTP responses with status <100, >599 returned by this object since the worker process '
     'started (error -1 included)'),
    ('hanafail', '-', '-', '-', '-',
     "Total number of failed checks caused by an 'on-error' directive after an 'observe' condition matched"),
    ('req_rate', 'MRP:u32', '-', '-', '-',
     'Number of HTTP requests processed over the last second on this object'),
    ('req_rate_max', 'MMP:u32', '-', '-', '-',
     'Highest value of http requests observed since the worker process started'),
    ('req_tot', 'MCP:u64', 'MCP:u64', 'MCP:u64', '-',
     'Total number of HTTP requests processed by this object since the worker process started'),
    ('cli_abrt', '-', 'MCP:u64', 'MCP:u64', '-',
     'Total number of requests or connections aborted by the client since the worker process started'),
    ('srv_abrt', '-', 'MCP:u64', 'MCP:u64', '-',
     'Total number of requests or connections aborted by the server since the worker process started'),
    ('comp_in', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of bytes submitted to the HTTP compressor for this object since the worker process started'),
    ('comp_out', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of bytes emitted by the HTTP compressor for this object since the worker process started'),
    ('comp_byp', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of bytes that bypassed HTTP compression for this object since the worker process started '
     '(CPU/memory/bandwidth limitation)'),
    ('comp_rsp', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of HTTP responses that were compressed for this object since the worker process started'),
    ('lastsess', '-', 'MAP:s32', 'MAP:s32', '-',
     'How long ago some traffic was seen on this object on this worker process, in seconds'),
    ('last_chk', '-', '-', 'MOP:str', '-',
     'Short description of the latest health check report for this server (see also check_desc)'),
    ('last_agt', '-', '-', '-', '-',
     'Short description of the latest agent check report for this server (see also agent_desc)'),
    ('qtime', '-', 'MaP:u32', 'MaP:u32', '-',
     'Time spent in the queue, in milliseconds, averaged over the 1024 last requests (backend/server)'),
    ('ctime', '-', 'MaP:u32', 'MaP:u32', '-',
     'Time spent waiting for a connection to complete, in milliseconds, averaged over the 1024 last requests '
     '(backend/server)'),
    ('rtime', '-', 'MaP:u32', 'MaP:u32', '-',
     'Time spent waiting for a server response, in milliseconds, averaged over the 1024 last requests '
     '(backend/server)'),
    ('ttime', '-', 'MaP:u32', 'MaP:u32', '-',
     'Total request+response time (request+queue+connect+response+processing), in milliseconds, averaged over the '
     '1024 last requests (backend/server)'),
    ('agent_status', '-', '-', '-', '-',
     "Status report of the server's latest agent check, prefixed with '*' if a check is currently in progress"),
    ('agent_code', '-', '-', '-', '-',
     'Status code reported by the latest server agent check'),
    ('agent_duration', '-', '-', '-', '-',
     'Total duration of the latest server agent check, in milliseconds'),
    ('check_desc', '-', '-', 'MOP:str', '-',
     'Textual description of the latest health check report for this server'),
    ('agent_desc', '-', '-', '-', '-',
     'Textual description of the latest agent check report for this server'),
    ('check_rise', '-', '-', 'CGS:u32', '-',
     "Number of successful health checks before declaring a server UP (server 'rise' setting)"),
    ('check_fall', '-', '-', 'CGS:u32', '-',
     "Number of failed health checks before declaring a server DOWN (server 'fall' setting)"),
    ('check_health', '-', '-', 'CGS:u32', '-',
     'Current server health check level (0..fall-1=DOWN, fall..rise-1=UP)'),
    ('agent_rise', '-', '-', '-', '-',
     "Number of successful agent checks before declaring a server UP (server 'rise' setting)"),
    ('agent_fall', '-', '-', '-', '-',
     "Number of failed agent checks before declaring a server DOWN (server 'fall' setting)"),
    ('agent_health', '-', '-', '-', '-',
     'Current server agent check level (0..fall-1=DOWN, fall..rise-1=UP)'),
    ('addr', '-', '-', 'CGS:str', 'CGS:str',
     "Server's address:port, shown only if show-legends is set, or at levels oper/admin for the CLI"),
    ('cookie', '-', 'CNS:str', 'CNS:str', '-',
     "Backend's cookie name or Server's cookie value, shown only if show-legends is set, or at levels oper/admin "
     'for the CLI'),
    ('mode', 'CGS:str', 'CGS:str', 'CGS:str', 'CGS:str',
     "'mode' setting (tcp/http/health/cli)"),
    ('algo', '-', 'CGS:str', '-', '-',
     "Backend's load balancing algorithm, shown only if show-legends is set, or at levels oper/admin for the CLI"),
    ('conn_rate', 'MRP:u32', '-', '-', '-',
     'Number of new connections accepted over the last second on the frontend for this worker process'),
    ('conn_rate_max', 'MMP:u32', '-', '-', '-',
     'Highest value of connections per second observed since the worker process started'),
    ('conn_tot', 'MCP:u64', '-', '-', '-',
     'Total number of new connections accepted on this frontend since the worker process started'),
    ('intercepted', 'MCP:u64', '-', '-', '-',
     'Total number of HTTP requests intercepted on the frontend (redirects/stats/services) since the worker process'
     ' started'),
    ('dcon', 'MCP:u64', '-', '-', 'MCP:u64',
     'Total number of incoming connections blocked on a listener/frontend by a tcp-request connection rule since '
     'the worker process started'),
    ('dses', 'MCP:u64', '-', '-', 'MCP:u64',
     'Total number of incoming sessions blocked on a listener/frontend by a tcp-request connection rule since the '
     'worker process started'),
    ('wrew', 'MCP:u64', 'MCP:u64', 'MCP:u64', 'MCP:u64',
     'Total number of failed HTTP header rewrites since the worker process started'),
    ('connect', '-', 'MCP:u64', 'MCP:u64', '-',
     'Total number of outgoing connection attempts on this backend/server since the worker process started'),
    ('reuse', '-', 'MCP:u64', 'MCP:u64', '-',
     'Total number of reused connection on this backend/server since the worker process started'),
    ('cache_lookups', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of HTTP requests looked up in the cache on this frontend/backend since the worker process started'),
    ('cache_hits', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of HTTP requests not found in the cache on this frontend/backend since the worker process started'),
    ('srv_icur', '-', '-', 'MGP:u32', '-',
     'Current number of idle connections available for reuse on this server'),
    ('src_ilim', '-', '-', '-', '-',
     "Limit on the number of available idle connections on this server (server 'pool_max_conn' directive)"),
    ('qtime_max', '-', 'MMP:u32', 'MMP:u32', '-',
     'Maximum observed time spent in the queue, in milliseconds (backend/server)'),
    ('ctime_max', '-', 'MMP:u32', 'MMP:u32', '-',
     'Maximum observed time spent waiting for a connection to complete, in milliseconds (backend/server)'),
    ('rtime_max', '-', 'MMP:u32', 'MMP:u32', '-',
     'Maximum observed time spent waiting for a server response, in milliseconds (backend/server)'),
    ('ttime_max', '-', 'MMP:u32', 'MMP:u32', '-',
     'Maximum observed total request+response time (request+queue+connect+response+processing), in milliseconds '
     '(backend/server)'),
    ('eint', 'MCP:u64', 'MCP:u64', 'MCP:u64', 'MCP:u64',
     'Total number of internal errors since process started'),
    ('idle_conn_cur', '-', '-', 'MGP:u32', '-',
     'Current number of unsafe idle connections'),
    ('safe_conn_cur', '-', '-', 'MGP:u32', '-',
     'Current number of safe idle connections'),
    ('used_conn_cur', '-', '-', 'MGP:u32', '-',
     'Current number of connections in use'),
    ('need_conn_est', '-', '-', 'MGP:u32', '-',
     'Estimated needed number of connections'),
    ('uweight', '-', 'MaP:u32', 'MaP:u32', '-',
     "Server's user weight, or sum of active servers' user weights for a backend"),
    ('agg_server_status', '-', 'MGP:u32', '-', '-',
     "Backend's aggregated gauge of servers' status"),
    ('agg_server_check_status', '-', 'MGP:u32', '-', '-',
     "Backend's aggregated gauge of servers' state check status"),
    ('agg_check_status', '-', 'MGP:u32', '-', '-',
     "Backend's aggregated gauge of servers' state check status"),
    ('ssl_sess', 'MCP:u64', 'MCP:u64', 'MCP:u64', 'MCP:u64',
     'Total number of ssl sessions established'),
    ('ssl_reused_sess', 'MCP:u64', 'MCP:u64', 'MCP:u64', 'MCP:u64',
     'Total number of ssl sessions reused'),
    ('ssl_failed_handshake', 'MCP:u64', 'MCP:u64', 'MCP:u64', 'MCP:u64',
     'Total number of failed handshake'),
    ('h2_headers_rcvd', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of received HEADERS frames'),
    ('h2_data_rcvd', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of received DATA frames'),
    ('h2_settings_rcvd', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of received SETTINGS frames'),
    ('h2_rst_stream_rcvd', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of received RST_STREAM frames'),
    ('h2_goaway_rcvd', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of received GOAWAY frames'),
    ('h2_detected_conn_protocol_errors', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of connection protocol errors'),
    ('h2_detected_strm_protocol_errors', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of stream protocol errors'),
    ('h2_rst_stream_resp', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of RST_STREAM sent on detected error'),
    ('h2_goaway_resp', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of GOAWAY sent on detected error'),
    ('h2_open_connections', 'MGP:u64', 'MGP:u64', '-', '-',
     'Count of currently open connections'),
    ('h2_backend_open_streams', 'MGP:u64', 'MGP:u64', '-', '-',
     'Count of currently open streams'),
    ('h2_total_connections', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of connections'),
    ('h2_backend_total_streams', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of streams'),
    ('h1_open_connections', 'MGP:u64', 'MGP:u64', '-', '-',
     'Count of currently open connections'),
    ('h1_open_streams', 'MGP:u64', 'MGP:u64', '-', '-',
     'Count of currently open streams'),
    ('h1_total_connections', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of connections'),
    ('h1_total_streams', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of streams'),
    ('h1_bytes_in', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of bytes received'),
    ('h1_bytes_out', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of bytes send'),
    ('h1_spliced_bytes_in', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of bytes received using kernel splicing'),
    ('h1_spliced_bytes_out', 'MCP:u64', 'MCP:u64', '-', '-',
     'Total number of bytes sendusing kernel splicing'),
)  # fmt: skip

FIELD_NAMES: tuple[str, ...] = tuple(row[0] for row in _FIELDS)
NFIELDS = len(FIELD_NAMES)  # 127
NSTATIC = 103  # HAProxy's ST_F_TOTAL_FIELDS: the `-` separator follows this many fields
POSITION = {name: position for position, name in enumerate(FIELD_NAMES)}
DESCRIPTION = {row[0]: row[5] for row in _FIELDS}
KINDS = "FBSL"
TAGS: dict[str, dict[str, str]] = {
    kind: {row[0]: row[1 + k] for row in _FIELDS if row[1 + k] != "-"} for k, kind in enumerate(KINDS)
}

# The `type` field (and the stat filter's type bits: 1 << TYPE_*)
TYPE_FRONTEND, TYPE_BACKEND, TYPE_SERVER, TYPE_LISTENER = 0, 1, 2, 3
KIND_OF_TYPE = {TYPE_FRONTEND: "F", TYPE_BACKEND: "B", TYPE_SERVER: "S", TYPE_LISTENER: "L"}
OBJ_TYPE_NAMES = {"F": "Frontend", "B": "Backend", "S": "Server", "L": "Listener"}

ORIGINS = {"M": "Metric", "S": "Status", "K": "Key", "C": "Config", "P": "Product"}
NATURES = {"G": "Gauge", "L": "Limit", "m": "Min", "M": "Max", "R": "Rate", "C": "Counter", "D": "Duration",
           "A": "Age", "T": "Time", "N": "Name", "O": "Output", "a": "Avg"}  # fmt: skip
SCOPES = {"P": "Process", "S": "Service", "s": "System", "C": "Cluster"}


class Field(NamedTuple):
    """One filled statistics value: its tag (`MGP`), type (`u32`, `str`...) and value."""

    tag: str
    type: str
    value: int | str


def field(kind: str, name: str, value: int | str) -> Field:
    """A value for field `name` of a row of `kind`, tagged as HAProxy tags it."""
    tag, kind_type = TAGS[kind][name].split(":")
    return Field(tag, kind_type, value)
