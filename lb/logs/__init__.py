"""Traffic log lines (HAProxy's formats, byte for byte) and lb's own events.

Master/cli: keywords (config -> SyslogTarget, formats compiled at load).
Workers and checker: runtime (per-proxy loggers) over targets (non-blocking
sinks) and syslog (framing).  The format compiler is logformat + aliases
+ samples; reader parses lines back, tail is `lbctl logs`, compare matches
lb's lines with HAProxy's, events is structlog for lb's own events.
"""
