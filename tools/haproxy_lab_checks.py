"""Small configs whose `haproxy -c` output tools/record_haproxy_logs.py records (tool).

Each exercises the diagnostics of the logging keywords: bad `log` lines,
bad log-format strings, and the warnings of formats in the wrong place.
"""

# `haproxy -c` on small configs: the exact diagnostics of the logging keywords.
CHECKS = {
    "log_keyword_errors": """
global
    log 127.0.0.1 len 50 local0
    log 127.0.0.1 len 70000 local0
    log 127.0.0.1 format foo local0
    log 127.0.0.1 local9
    log 127.0.0.1 local0 bogus
    log 127.0.0.1 local0 info bogus
    log 127.0.0.1 local0 info notice extra
    log 127.0.0.1
    log global
    log-tag
defaults
    log
    no log x
    log-format
    option tcplog extra
    option httplog foo
""",
    "format_errors": """
defaults
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend f1
    bind 127.0.0.1:1
    log 127.0.0.1 local0
    log-format "%ci %{+Q}"
frontend f2
    bind 127.0.0.1:2
    log 127.0.0.1 local0
    log-format "%ci %[src"
frontend f3
    bind 127.0.0.1:3
    log 127.0.0.1 local0
    log-format "%ci %5 x"
frontend f4
    bind 127.0.0.1:4
    log 127.0.0.1 local0
    log-format "%ci %"
frontend f5
    bind 127.0.0.1:5
    log 127.0.0.1 local0
    log-format "%ci %zz"
frontend f6
    bind 127.0.0.1:6
    log 127.0.0.1 local0
    log-format "%ci %[bogus] x"
frontend f7
    bind 127.0.0.1:7
    log 127.0.0.1 local0
    log-format "%ci %[src x"
frontend f8
    mode tcp
    bind 127.0.0.1:8
    log 127.0.0.1 local0
    log-format "%ci %HM %r"
""",
    "format_warnings": """
defaults
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    option httplog
    log-format "%ci"
    option tcplog
    option httplog clf
listen l1
    mode tcp
    bind 127.0.0.1:1
    server s1 127.0.0.1:9
frontend f2
    mode tcp
    bind 127.0.0.1:2
    log 127.0.0.1 local0
    option httplog
    default_backend b
frontend f3
    mode http
    bind 127.0.0.1:3
    option httplog
    default_backend bh
frontend f4
    mode tcp
    bind 127.0.0.1:4
    log 127.0.0.1 local0
    option httplog clf
    default_backend b
backend b
    mode tcp
    option tcplog
    option httplog
    log-format "%ci"
    server s1 127.0.0.1:9
backend bh
    mode http
    server s1 127.0.0.1:9
""",
}
