"""Record `haproxy -c` on the traffic-control cases (a tool, not a test).

    python tests/sticktables/parity/record_diagnostics.py [/usr/sbin/haproxy]

Each case of CASES is a small configuration (a frontend, a backend, the
lines under test); haproxy -c runs on it and its ALERT and WARNING lines
(pid and summary lines dropped) are stored in diagnostics-2.6.json beside
this script.  test_diagnostics.py loads the same configurations in lb and
compares line for line.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEAD = """defaults
    mode {mode}
    timeout connect 1s
    timeout client 1s
    timeout server 1s
"""
TABLE = "stick-table type ip size 10 store conn_rate(10s),http_req_rate(10s),gpc0"

# (mode, frontend lines, backend lines, extra sections)
CASES: list[tuple[str, list[str], list[str], str]] = [
    # stick-table
    ("http", ["stick-table type ipv4 size 10"], [], ""),
    ("http", [], ["stick-table type ip"], ""),
    ("http", [], ["stick-table type string len 0 size 1"], ""),
    ("http", [], ["stick-table type string len 12 size 1k expire 10s nopurge store gpc0"], ""),
    ("http", [], ["stick-table type ip size 1k expire 10x"], ""),
    ("http", [], ["stick-table type ip size 1x"], ""),
    ("http", [], ["stick-table type ip size 10 expire 99999999999"], ""),
    ("http", [], ["stick-table size 10 store http_req_rate"], ""),
    ("http", [], ["stick-table type ip size 10 store http_req_rate(10s),foo"], ""),
    ("http", [], ["stick-table type ip size 10 store conn_cnt(10s)"], ""),
    ("http", [], ["stick-table type ip size 10 store http_req_rate(10s,conn_cnt"], ""),
    ("http", [], ["stick-table type ip size 10 store http_req_rate(10x)"], ""),
    ("http", [], ["stick-table type ip size 10 store gpc0,gpc0 bogus"], ""),
    ("http", [], ["stick-table type ip size 10", "stick-table type ip size 10"], ""),
    ("http", [], ["stick-table type ip size 10 srvkey foo"], ""),
    ("http", [], ["stick-table type ip len 4 size 10"], ""),
    ("http", [], ["stick-table type ip size 0"], ""),
    ("http", [], ["stick-table type ip size 10 store server_name,gpt0"], ""),
    ("http", [], [], "defaults d2\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
                     "    stick-table type ip size 10\n"),
    # http-request / http-response actions
    ("http", [TABLE, "http-request track-sc0"], [], ""),
    ("http", [TABLE, "http-request track-sc3 src"], [], ""),
    ("http", [TABLE, "http-request track-scx src"], [], ""),
    ("http", [TABLE, "http-request track-sc0 src table"], [], ""),
    ("http", [TABLE, "http-request track-sc0 src table nosuch"], [], ""),
    ("http", [TABLE, "http-request track-sc1 req.hdr(host)"], [], ""),
    ("http", [TABLE, "http-request track-sc2 src bogus"], [], ""),
    ("http", [TABLE, "http-request track-sc0 nosuchfetch"], [], ""),
    ("http", [TABLE, "http-request track-sc0 status"], [], ""),
    ("http", ["http-request track-sc0 src"], [], ""),
    ("http", ["stick-table type integer size 10", "http-request track-sc0 req.hdr(host)"], [], ""),
    ("http", ["stick-table type integer size 10", "http-request track-sc0 src"], [], ""),
    ("http", [TABLE, "http-request track-sc0 src table be"], ["stick-table type ip size 10"], ""),
    ("http", [TABLE, "http-request sc-inc-gpc0(4)"], [], ""),
    ("http", [TABLE, "http-request sc-inc-gpc0(x)"], [], ""),
    ("http", [TABLE, "http-request sc-inc-gpc2"], [], ""),
    ("http", [TABLE, "http-request sc-set-gpt0(0) abc"], [], ""),
    ("http", [TABLE, "http-request sc-set-gpt0(3) 1"], [], ""),
    ("http", [TABLE, "http-request sc-set-gpt0x 1"], [], ""),
    ("http", [TABLE, "http-request sc-set-gpt0(1) 5 if TRUE", "http-request sc-inc-gpc1(2)"], [], ""),
    ("http", [TABLE, "http-request tarpit deny_status 429", "http-request tarpit foo"], [], ""),
    ("http", [TABLE, "http-request tarpit deny_status 99"], [], ""),
    ("http", [TABLE, "http-response track-sc0 src", "http-response sc-inc-gpc1(0)", "http-request silent-drop"], [],
     ""),
    ("http", [TABLE, "http-request deny deny_status 429 if { sc_http_req_rate(0) gt 10 }"], [], ""),
    ("http", [TABLE, "http-request deny if { sc_http_req_rate gt 10 }"], [], ""),
    ("http", [TABLE, "http-request deny if { sc_http_req_rate(x) gt 10 }"], [], ""),
    ("http", [TABLE, "http-request deny if { sc0_conn_cur(fe,3) gt 10 }"], [], ""),
    ("http", [TABLE, "http-request deny if { src_http_req_rate(nosuch) gt 10 }"], [], ""),
    ("http", [TABLE, "http-request deny if { sc0_http_req_rate(nosuch) gt 10 }"], [], ""),
    ("http", [TABLE, "http-request deny if { sc_http_req_rate(0,nosuch) gt 10 }"], [], ""),
    ("http", ["http-request deny if { src_conn_cur gt 1 }"], [], ""),
    ("http", ["http-request deny if { table_cnt gt 1 }"], [], ""),
    ("http", [TABLE, "http-request deny if { table_avl(be) lt 1 }"], ["stick-table type ip size 10"], ""),
    ("http", [TABLE, "http-request set-header X %[src_conn_cur(nosuch)]"], [], ""),
    ("http", [TABLE, "http-request set-var(txn.x) src_conn_rate(nosuch)"], [], ""),
    ("http", [TABLE, "acl abuse sc0_gpc0_rate gt 5", "acl fast src_http_req_rate ge 100",
              "http-request deny if abuse || fast"], [], ""),
    # tcp-request
    ("tcp", ["tcp-request"], [], ""),
    ("tcp", ["tcp-request inspect-delay"], [], ""),
    ("tcp", ["tcp-request inspect-delay 5x"], [], ""),
    ("tcp", ["tcp-request inspect-delay 5s", "tcp-request inspect-delay 6s"], [], ""),
    ("tcp", ["tcp-request bogus"], [], ""),
    ("tcp", ["tcp-request connection"], [], ""),
    ("tcp", ["tcp-request connection acept"], [], ""),
    ("tcp", ["tcp-request session trak-sc0"], [], ""),
    ("tcp", ["tcp-request content rejet"], [], ""),
    ("tcp", ["tcp-request connection reject foo"], [], ""),
    ("tcp", ["tcp-request connection reject if nosuchacl"], [], ""),
    ("tcp", ["tcp-request connection reject if"], [], ""),
    ("tcp", ["tcp-request connection expect-proxy"], [], ""),
    ("tcp", ["tcp-request connection expect-proxy layer5"], [], ""),
    ("tcp", ["tcp-request content expect-proxy layer4"], [], ""),
    ("tcp", ["tcp-request session expect-proxy layer4"], [], ""),
    ("tcp", [TABLE, "tcp-request connection track-sc0"], [], ""),
    ("tcp", [TABLE, "tcp-request content track-sc5 src"], [], ""),
    ("tcp", [TABLE, "tcp-request connection track-sc0 src", "tcp-request connection reject if { sc0_conn_rate gt 5 }"],
     [], ""),
    ("tcp", [TABLE, "tcp-request content track-sc0 src table nosuch"], [], ""),
    ("tcp", ["tcp-request content reject if { req.ssl_sni -m end .com }"], [], ""),
    ("tcp", ["tcp-request connection reject if { req.ssl_sni -m end .com }"], [], ""),
    ("tcp", ["acl sni req.ssl_sni -i a.com", "tcp-request session reject if sni"], [], ""),
    ("tcp", ["tcp-request content capture req.ssl_sni"], [], ""),
    ("tcp", ["tcp-request content capture req.ssl_sni len 10"], [], ""),
    ("tcp", ["tcp-request content capture src len 0"], [], ""),
    ("tcp", ["tcp-request connection capture src len 1"], [], ""),
    ("tcp", ["tcp-request connection silent-drop", "tcp-request session reject", "tcp-request content accept"],
     [], ""),
    ("tcp", ["tcp-request connection sc-inc-gpc0(4)"], [], ""),
    ("tcp", ["tcp-request content sc-set-gpt0(0) foo"], [], ""),
    ("tcp", ["tcp-request content set-var(foo) src"], [], ""),
    ("tcp", ["tcp-request content set-var(txn.foo)"], [], ""),
    ("tcp", ["tcp-request content unset-var(txn.foo) bar"], [], ""),
    ("tcp", [TABLE, "tcp-request content track-sc0 req.payload(0,4)"], [], ""),
    ("tcp", ["tcp-request inspect-delay 5s", "tcp-request content accept if { req.ssl_ver 3.1 }",
             "tcp-request content accept if { req_ssl_ver 3:3.3 }"], [], ""),
    ("tcp", ["tcp-request content accept if { req.ssl_ver 3.x }"], [], ""),
    ("tcp", ["tcp-request inspect-delay 5s", "tcp-request content accept if { req_ssl_hello_type 1 }",
             "use_backend be if { req.ssl_sni -i example.com }"], [], ""),
    ("tcp", ["tcp-request content accept if { payload(0,3) -m bin 160301 }",
             "tcp-request content reject if { req.payload_lv(0,1,x) -m found }"], [], ""),
    ("http", ["stick-table type string size 10", "tcp-request content track-sc0 src"], [], ""),
    ("http", ["stick-table type string size 10", "tcp-request content track-sc0 req.hdr(host)"], [], ""),
    ("http", ["tcp-request connection track-sc0 req.hdr(host)"], [], ""),
    ("http", ["tcp-request connection reject if { path /x }"], [], ""),
    ("tcp", [], [], "defaults\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n"
                    "    tcp-request connection reject\n    tcp-request inspect-delay 5s\n"),
    # stick and use-server
    ("http", [], ["stick-table type ip size 10", "stick on src"], ""),
    ("http", [], ["stick on src"], ""),
    ("http", [], ["stick-table type integer size 10", "stick on src", "stick match hdr(x) table nosuch"], ""),
    ("http", [], ["stick"], ""),
    ("http", [], ["stick on"], ""),
    ("http", [], ["stick bogus src"], ""),
    ("http", [], ["stick on foo(1)"], ""),
    ("http", [], ["stick on status"], ""),
    ("http", [], ["stick-table type ip size 10", "stick store-response status"], ""),
    ("http", [], ["stick-table type ip size 10", "stick on src junk"], ""),
    ("http", [], ["stick-table type ip size 10", "stick on src if nosuch"], ""),
    ("http", ["stick on src"], [], ""),
    ("tcp", [], ["use-server s1 if { src 127.0.0.1 }", "use-server s2"], ""),
    ("tcp", [], ["use-server", "use-server s1 if nosuchacl"], ""),
    ("tcp", [], ["use-server nosuch if TRUE"], ""),
    ("tcp", ["use-server s1 if TRUE"], [], ""),
    # timeout tarpit
    ("http", ["timeout tarpit 2s"], ["timeout tarpit 3s"], ""),
]


def config_of(mode: str, frontend: list[str], backend: list[str], extra: str) -> str:
    text = HEAD.format(mode=mode) + extra
    text += "frontend fe\n    bind 127.0.0.1:19001\n" + "".join(f"    {line}\n" for line in frontend)
    text += "    default_backend be\n"
    text += "backend be\n" + "".join(f"    {line}\n" for line in backend)
    text += "    server s1 127.0.0.1:1\n    server s2 127.0.0.1:2\n"
    return text


def haproxy_lines(haproxy: str, config: str) -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.cfg"
        path.write_text(config)
        run = subprocess.run([haproxy, "-c", "-f", "t.cfg"], cwd=tmp, capture_output=True, text=True, timeout=20)
    lines = []
    for line in run.stderr.splitlines():
        match = re.match(r"\[(ALERT|WARNING)\] +\(\d+\) : config : (.*)", line)
        if match and not match.group(2).startswith(("Error(s) found", "Fatal errors")):
            lines.append(f"{match.group(1)} {match.group(2)}")
        elif not match and line and not line.startswith("[") and lines:
            lines[-1] += "\n" + line  # a message of several lines
    return lines


def main() -> None:
    haproxy = sys.argv[1] if len(sys.argv) > 1 else "/usr/sbin/haproxy"
    version = subprocess.run([haproxy, "-v"], capture_output=True, text=True).stdout.split()[2]
    cases = []
    for mode, frontend, backend, extra in CASES:
        config = config_of(mode, frontend, backend, extra)
        cases.append({"config": config, "expected": haproxy_lines(haproxy, config)})
    out = HERE / "diagnostics-2.6.json"
    out.write_text(json.dumps({"haproxy": version, "cases": cases}, indent=1) + "\n")
    print(f"{len(cases)} cases recorded with haproxy {version} into {out}")


if __name__ == "__main__":
    main()
