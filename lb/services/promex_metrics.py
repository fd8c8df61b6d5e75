"""The metrics of HAProxy 2.6's Prometheus exporter that lb fills (any process; data only).

Names, types and order are those HAProxy 2.6.12 prints (recorded in
tests/services/data/haproxy26_metrics.txt); the help text of a metric is
the description of its `show info` or `show stat` field (lb.stats.info,
lb.stats.fields), or the exporter's own text where it has one (HELP).

A metric lb cannot fill honestly is not printed at all (not as 0, not as
NaN): they are listed in LEFT_OUT with the reason, and in the README.  A
metric lb fills prints NaN for an object whose field is empty in `show
stat`, as HAProxy does (a server without maxconn has no limit_sessions).
"""

from __future__ import annotations

from typing import NamedTuple

GAUGE, COUNTER = "gauge", "counter"


class Metric(NamedTuple):
    name: str  # after the prefix: haproxy_<scope>_<name>
    source: str  # the `show info` or `show stat` field
    type: str
    kinds: str  # stat metrics: F frontend, L listener, B backend, S server; "" for process metrics


# haproxy_process_*: `show info` fields, in field order.  lb fills these; the
# others (pools, SSL, pipes, compression, tasks, peers, logs, bytes out...) describe
# machinery lb does not have or does not measure.
PROCESS = (
    Metric("nbthread", "Nbthread", GAUGE, ""),
    Metric("nbproc", "Nbproc", GAUGE, ""),
    Metric("relative_process_id", "Process_num", GAUGE, ""),
    Metric("uptime_seconds", "Uptime_sec", GAUGE, ""),
    Metric("max_fds", "Ulimit-n", GAUGE, ""),
    Metric("max_connections", "Maxconn", GAUGE, ""),
    Metric("hard_max_connections", "Hard_maxconn", GAUGE, ""),
    Metric("current_connections", "CurrConns", GAUGE, ""),
    Metric("connections_total", "CumConns", COUNTER, ""),
    Metric("requests_total", "CumReq", COUNTER, ""),
    Metric("current_session_rate", "SessRate", GAUGE, ""),
    Metric("limit_session_rate", "SessRateLimit", GAUGE, ""),
    Metric("max_session_rate", "MaxSessRate", GAUGE, ""),
    Metric("stopping", "Stopping", GAUGE, ""),
    Metric("listeners", "Listeners", GAUGE, ""),
    Metric("build_info", "Build info", GAUGE, ""),
    Metric("max_memory_bytes", "Memmax_bytes", GAUGE, ""),
    Metric("start_time_seconds", "Start_time_sec", GAUGE, ""),
)

# haproxy_{frontend,listener,backend,server}_*: `show stat` fields, in field order.
STATS = (
    Metric("current_queue", "qcur", GAUGE, "BS"),
    Metric("max_queue", "qmax", GAUGE, "BS"),
    Metric("current_sessions", "scur", GAUGE, "FBS"),
    Metric("max_sessions", "smax", GAUGE, "FLBS"),
    Metric("limit_sessions", "slim", GAUGE, "FLBS"),
    Metric("sessions_total", "stot", COUNTER, "FLBS"),
    Metric("bytes_in_total", "bin", COUNTER, "FLBS"),
    Metric("bytes_out_total", "bout", COUNTER, "FLBS"),
    Metric("requests_denied_total", "dreq", COUNTER, "FLB"),
    Metric("responses_denied_total", "dresp", COUNTER, "FLBS"),
    Metric("request_errors_total", "ereq", COUNTER, "FL"),
    Metric("connection_errors_total", "econ", COUNTER, "BS"),
    Metric("response_errors_total", "eresp", COUNTER, "BS"),
    Metric("retry_warnings_total", "wretr", COUNTER, "BS"),
    Metric("redispatch_warnings_total", "wredis", COUNTER, "BS"),
    Metric("status", "status", GAUGE, "FLBS"),
    Metric("weight", "weight", GAUGE, "BS"),
    Metric("active_servers", "act", GAUGE, "B"),
    Metric("backup_servers", "bck", GAUGE, "B"),
    Metric("check_failures_total", "chkfail", COUNTER, "S"),
    Metric("check_up_down_total", "chkdown", COUNTER, "BS"),
    Metric("check_last_change_seconds", "lastchg", GAUGE, "BS"),
    Metric("downtime_seconds_total", "downtime", COUNTER, "BS"),
    Metric("queue_limit", "qlimit", GAUGE, "S"),
    Metric("current_throttle", "throttle", GAUGE, "S"),  # NaN: lb has no slowstart (as HAProxy without it)
    Metric("loadbalanced_total", "lbtot", COUNTER, "BS"),
    Metric("limit_session_rate", "rate_lim", GAUGE, "F"),
    Metric("max_session_rate", "rate_max", GAUGE, "FBS"),
    Metric("check_status", "check_status", GAUGE, "S"),
    Metric("check_code", "check_code", GAUGE, "S"),
    Metric("check_duration_seconds", "check_duration", GAUGE, "S"),
    Metric("http_responses_total", "hrsp_1xx", COUNTER, "FBS"),  # with hrsp_2xx..hrsp_other, label code
    Metric("http_requests_rate_max", "req_rate_max", GAUGE, "F"),
    Metric("http_requests_total", "req_tot", COUNTER, "FB"),
    Metric("client_aborts_total", "cli_abrt", COUNTER, "BS"),
    Metric("server_aborts_total", "srv_abrt", COUNTER, "BS"),
    Metric("last_session_seconds", "lastsess", GAUGE, "BS"),
    Metric("queue_time_average_seconds", "qtime", GAUGE, "BS"),
    Metric("connect_time_average_seconds", "ctime", GAUGE, "BS"),
    Metric("response_time_average_seconds", "rtime", GAUGE, "BS"),
    Metric("total_time_average_seconds", "ttime", GAUGE, "BS"),
    Metric("intercepted_requests_total", "intercepted", COUNTER, "F"),
    Metric("internal_errors_total", "eint", COUNTER, "FLBS"),
    Metric("uweight", "uweight", GAUGE, "BS"),
    Metric("agg_server_status", "agg_server_status", GAUGE, "B"),
    Metric("agg_server_check_status", "agg_server_check_status", GAUGE, "B"),
    Metric("agg_check_status", "agg_check_status", GAUGE, "B"),
)

# The exporter's own help texts (HAProxy's promex_st_metric_desc), else the field's description.
HELP = {
    "status": "Current status of the service, per state label value.",
    "check_status": "Status of last health check, per state label value.",
    "check_code": "layer5-7 code, if available of the last health check.",
    "check_duration": "Total duration of the latest server health check, in seconds.",
    "qtime": "Avg. queue time for last 1024 successful connections.",
    "ctime": "Avg. connect time for last 1024 successful connections.",
    "rtime": "Avg. response time for last 1024 successful connections.",
    "ttime": "Avg. total time for last 1024 successful connections.",
    "agg_server_status": "Backend's aggregated gauge of servers' status",
    "agg_server_check_status": "Backend's aggregated gauge of servers' state check status",
    "agg_check_status": "Backend's aggregated gauge of servers' state check status",
}

HTTP_ONLY = ("hrsp_1xx", "req_rate_max", "req_tot", "intercepted")  # not printed for tcp proxies
SECONDS = ("qtime", "ctime", "rtime", "ttime", "check_duration")  # ms fields printed in seconds ("%f")
HRSP = (("hrsp_1xx", "1xx"), ("hrsp_2xx", "2xx"), ("hrsp_3xx", "3xx"), ("hrsp_4xx", "4xx"), ("hrsp_5xx", "5xx"),
        ("hrsp_other", "other"))  # fmt: skip
SERVER_STATES = ("DOWN", "UP", "MAINT", "DRAIN", "NOLB")
PROXY_STATES = ("DOWN", "UP")
LISTENER_STATES = ("WAITING", "OPEN", "FULL")
# Check statuses of a finished check (HAProxy's results >= CHK_RES_FAILED), in its order.
CHECK_STATES = ("HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7TOUT", "L7RSP", "L7OK",
                "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK")  # fmt: skip

# What HAProxy 2.6 prints that lb leaves out, and why (README "Prometheus exporter").
LEFT_OUT = {
    "process": {"pool_failures_total": "no memory pools", "max_sockets": "not measured",
                "max_ssl_connections": "no SSL counters", "current_ssl_connections": "no SSL counters",
                "ssl_connections_total": "no SSL counters", "max_pipes": "no pipes",
                "pipes_used_total": "no pipes", "pipes_free_total": "no pipes",
                "current_connection_rate": "connections and sessions are one count in lb",
                "limit_connection_rate": "no maxconnrate", "max_connection_rate": "connections and sessions are one "
                "count in lb", "current_ssl_rate": "no SSL counters", "limit_ssl_rate": "no maxsslrate",
                "max_ssl_rate": "no SSL counters", "current_frontend_ssl_key_rate": "no SSL counters",
                "max_frontend_ssl_key_rate": "no SSL counters", "frontend_ssl_reuse": "no SSL counters",
                "current_backend_ssl_key_rate": "no SSL counters", "max_backend_ssl_key_rate": "no SSL counters",
                "ssl_cache_lookups_total": "no SSL counters", "ssl_cache_misses_total": "no SSL counters",
                "http_comp_bytes_in_total": "no compression", "http_comp_bytes_out_total": "no compression",
                "limit_http_comp": "no compression", "current_zlib_memory": "no compression",
                "max_zlib_memory": "no compression", "current_tasks": "no task scheduler",
                "current_run_queue": "no task scheduler", "idle_time_percent": "not measured",
                "jobs": "not counted", "unstoppable_jobs": "not counted", "active_peers": "no peers",
                "connected_peers": "no peers", "dropped_logs_total": "not counted",
                "busy_polling_enabled": "no busy polling", "failed_resolutions": "no DNS resolvers",
                "bytes_out_total": "not counted per process", "spliced_bytes_out_total": "not counted",
                "bytes_out_rate": "not counted per process", "recv_logs_total": "no log forwarding",
                "pool_allocated_bytes": "no memory pools", "pool_used_bytes": "no memory pools"},
    "frontend": {"http_comp_bytes_in_total": "no compression", "http_comp_bytes_out_total": "no compression",
                 "http_comp_bytes_bypassed_total": "no compression", "http_comp_responses_total": "no compression",
                 "connections_rate_max": "connections and sessions are one count in lb",
                 "connections_total": "connections and sessions are one count in lb",
                 "denied_connections_total": "no tcp-request connection rules",
                 "denied_sessions_total": "no tcp-request session rules",
                 "failed_header_rewriting_total": "header rewrites are not counted",
                 "http_cache_lookups_total": "no cache", "http_cache_hits_total": "no cache"},
    "listener": {"current_sessions": "not counted per listener", "denied_connections_total": "no tcp-request rules",
                 "denied_sessions_total": "no tcp-request rules",
                 "failed_header_rewriting_total": "header rewrites are not counted"},
    "backend": {"http_comp_bytes_in_total": "no compression", "http_comp_bytes_out_total": "no compression",
                "http_comp_bytes_bypassed_total": "no compression", "http_comp_responses_total": "no compression",
                "failed_header_rewriting_total": "header rewrites are not counted",
                "connection_attempts_total": "connection attempts are not counted apart from sessions",
                "connection_reuses_total": "connection reuse is not counted",
                "http_cache_lookups_total": "no cache", "http_cache_hits_total": "no cache",
                "max_queue_time_seconds": "only averages are kept", "max_connect_time_seconds": "only averages",
                "max_response_time_seconds": "only averages", "max_total_time_seconds": "only averages"},
    "server": {"failed_header_rewriting_total": "header rewrites are not counted",
               "connection_attempts_total": "connection attempts are not counted apart from sessions",
               "connection_reuses_total": "connection reuse is not counted",
               "idle_connections_current": "idle connections are not counted",
               "idle_connections_limit": "idle connections are not counted",
               "max_queue_time_seconds": "only averages are kept", "max_connect_time_seconds": "only averages",
               "max_response_time_seconds": "only averages", "max_total_time_seconds": "only averages",
               "unsafe_idle_connections_current": "idle connections are not counted",
               "safe_idle_connections_current": "idle connections are not counted",
               "used_connections_current": "not counted apart from current sessions",
               "need_connections_current": "not estimated"},
}  # fmt: skip
