#!/usr/bin/env python3
"""Record real HAProxy log lines for lb's log-format tests (tool, run by hand).

Runs the local `haproxy` (Debian 2.6) on loopback with `log stdout format raw`
and UDP syslog targets, drives a list of scenarios against it (TCP relay,
NOSRV, retries, HTTP 200/503/302/403/504/400/408, WebSocket, captures, every
log-format alias, flags, CLF, truncation, syslog framings, levels, server state
messages) and writes what HAProxy emitted to tests/logs/data/haproxy26.json.

The tests never run HAProxy: they compare lb's compiler, framing and reader
with these recorded lines.  Re-run after changing a scenario:

    python3 tools/record_haproxy_logs.py [--out tests/logs/data/haproxy26.json]

`--e2e` records the end-to-end lab instead (tests/logs/e2e_lab.py: the config
and exchanges tests/logs/test_e2e_side_by_side.py plays against lb and, when
installed, HAProxy) into tests/logs/data/haproxy26_e2e.json, which that test
compares lb's lines with where `haproxy` is missing:

    python3 tools/record_haproxy_logs.py --e2e
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from haproxy_lab import (  # tools/ is the script's directory, first on sys.path
    ALL_HTTP,
    ALL_TCP,
    CONFIG,
    FLAGS,
    HOSTNAME_CONFIG,
    MERGE,
    QUOTE_ALL,
    Collector,
    EchoHandler,
    GreetHandler,
    HttpBackend,
    exchange,
    free_port,
    http_get,
    serve,
    websocket,
)
from haproxy_lab_checks import CHECKS

REPO = Path(__file__).resolve().parent.parent


def scenarios(ports: dict[str, int]) -> list[tuple[str, str, int, int, object]]:
    """(name, frontend, stdout lines expected, udp datagrams expected, action)."""
    long_uri = "/" + "a" * 1500
    weird_host = "Host: w{1|2}\"#\xe9\x01 x\r\n"
    return [
        ("tcp_echo", "ft_tcp", 1, 0, lambda: exchange(ports["p_tcp"], b"hello\n")),
        ("tcp_nosrv", "ft_tcp_nosrv", 1, 0, lambda: exchange(ports["p_tcp_nosrv"], b"hello\n")),
        ("tcp_retries", "ft_tcp_retry", 1, 0, lambda: exchange(ports["p_tcp_retry"], b"hello\n")),
        ("tcp_redispatch", "ft_tcp_redisp", 1, 0, lambda: exchange(ports["p_tcp_redisp"], b"hello\n")),
        ("tcp_null_silent", "ft_tcp_null", 0, 0, lambda: exchange(ports["p_tcp_null"], b"", pause=0.2)),
        ("tcp_null_data", "ft_tcp_null", 1, 0, lambda: exchange(ports["p_tcp_null"], b"hi\n")),
        ("tcp_all", "ft_tcp_all", 1, 0, lambda: exchange(ports["p_tcp_all"], b"hello\n")),
        ("http_ok_capture", "ft_http", 1, 0, lambda: http_get(ports["p_http"], "/index.html")),
        ("http_cookie_down", "ft_http", 1, 0,
         lambda: http_get(ports["p_http"], "/index.html", "Cookie: SRVID=w2\r\n")),
        ("http_cookie_valid", "ft_http", 1, 0,
         lambda: http_get(ports["p_http"], "/index.html", "Cookie: SRVID=w1\r\n")),
        ("http_cookie_invalid", "ft_http", 1, 0,
         lambda: http_get(ports["p_http"], "/index.html", "Cookie: SRVID=zz\r\n")),
        ("http_nosrv_503", "ft_http", 1, 0, lambda: http_get(ports["p_http"], "/down/x")),
        ("http_redirect", "f_pp", 1, 0, lambda: http_get(ports["p_pp"], "/r1")),
        ("http_deny", "f_pp", 1, 0, lambda: http_get(ports["p_pp"], "/deny")),
        ("http_server_timeout", "fh", 1, 0, lambda: http_get(ports["p_fh"], "/slow")),
        ("http_bad_request", "fh", 1, 0, lambda: exchange(ports["p_fh"], b"GARBAGE\x01 / HTTP/1.1\r\n\r\n")),
        ("http_request_timeout", "fh", 1, 0,
         lambda: exchange(ports["p_fh"], b"GET / HTTP/1.1\r\nHost: x\r\n", half_close=False)),
        ("http_keepalive_two", "ft_http", 2, 0, lambda: exchange(
            ports["p_http"], b"GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two?x=1 HTTP/1.1\r\nHost: b\r\n"
            b"Connection: close\r\n\r\n")),
        ("websocket", "f_ws", 1, 0, lambda: websocket(ports["p_ws"])),
        ("http_all", "ft_http_all", 1, 0, lambda: http_get(
            ports["p_all"], "/path/to/page.html?q=1&r=%22x", "User-Agent: curl/8.0.0-long\r\n"
            "Cookie: APPSESS=client1\r\n")),
        ("http_all_rejected", "ft_http_all", 1, 0, lambda: exchange(
            ports["p_all"], ("GET /a\"b#c\x7f?q=\xe9 HTTP/1.0\r\n" + weird_host + "\r\n").encode("latin-1"))),
        ("http_all_escapes", "ft_http_all", 1, 0, lambda: exchange(
            ports["p_all"], ("GET /a\"b?q=1 HTTP/1.0\r\n" + weird_host + "User-Agent: \xe9t\xe9\r\n\r\n")
            .encode("latin-1"))),
        ("http_all_http10_noversion", "ft_http_all", 1, 0, lambda: exchange(
            ports["p_all"], b"GET /plain HTTP/1.0\r\n\r\n")),
        ("http_all_absolute_uri", "ft_http_all", 1, 0, lambda: exchange(
            ports["p_all"], b"GET http://www.example.com:80/abs/p?k=v HTTP/1.1\r\nHost: www.example.com\r\n"
            b"Connection: close\r\n\r\n")),
        ("http_flags", "ft_flags", 1, 0, lambda: exchange(
            ports["p_flags"], ("GET /q\"x\\y]z HTTP/1.1\r\n" + weird_host + "Connection: close\r\n\r\n")
            .encode("latin-1"))),
        ("http_quote_all", "ft_quote", 1, 0, lambda: http_get(ports["p_quote"], "/quoted")),
        ("http_merge", "ft_merge", 1, 0, lambda: http_get(ports["p_merge"], "/m")),
        ("http_merge_captures", "ft_merge_cap", 1, 0, lambda: http_get(ports["p_merge_cap"], "/m")),
        ("http_clf", "ft_clf", 1, 0, lambda: http_get(ports["p_clf"], "/clf?x=1")),
        ("http_truncated", "ft_trunc", 1, 1, lambda: http_get(ports["p_trunc"], long_uri)),
        ("connect_from", "f_noformat", 1, 1, lambda: exchange(ports["p_noformat"], b"hi\n")),
        ("syslog_formats", "ft_syslog", 0, 9, lambda: http_get(ports["p_syslog"], "/syslog")),
        ("level_info", "ft_errors", 0, 1, lambda: http_get(ports["p_errors"], "/fine")),
        ("level_err", "ft_errors", 0, 1, lambda: http_get(ports["p_errors"], "/down/x")),
    ]


def allocate_ports() -> dict[str, int]:
    names = ["udp", "p_tcp", "p_tcp_nosrv", "p_tcp_retry", "p_tcp_redisp", "p_tcp_null", "p_tcp_all", "p_http",
             "p_pp", "p_fh", "p_ws", "p_all", "p_flags", "p_quote", "p_merge", "p_merge_cap", "p_clf", "p_trunc",
             "p_noformat", "p_syslog", "p_errors", "b_echo", "b_greet", "b_http", "b_state", "closed"]
    return {name: free_port() for name in names}


def start_haproxy(tmp: str, name: str, text: str) -> subprocess.Popen:
    cfg = Path(tmp, name)
    cfg.write_text(text)
    return subprocess.Popen(["haproxy", "-f", str(cfg), "-db"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    proc.wait(timeout=10)


def run(out: Path) -> None:
    ports = allocate_ports()
    ports.update(p_host=free_port(), p_gtag=free_port())
    serve(EchoHandler, ports["b_echo"])
    serve(GreetHandler, ports["b_greet"])
    serve(lambda *a: HttpBackend(*a), ports["b_http"])  # type: ignore[arg-type]
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", ports["udp"]))
    text = CONFIG.format(all_tcp=ALL_TCP, all_http=ALL_HTTP, flags=FLAGS.replace('"', '\\"'),
                         quote_all=QUOTE_ALL, merge=MERGE, **ports)
    with tempfile.TemporaryDirectory() as tmp:
        proc = start_haproxy(tmp, "lab.cfg", text)
        try:
            result = drive(proc, udp, ports)
        finally:
            stop(proc)
        proc = start_haproxy(tmp, "hostname.cfg", HOSTNAME_CONFIG.format(**ports))
        try:
            result["hostname_syslog"] = drive_hostname(proc, udp, ports)
        finally:
            stop(proc)
        result["checks"] = {name: {"config": cfg, "stderr": check_config(tmp, name, cfg)}
                            for name, cfg in CHECKS.items()}
    version = subprocess.run(["haproxy", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
    result.update(haproxy=version, recorded=time.strftime("%Y-%m-%d"), config=text, ports=ports,
                  formats={"ft_http_all": ALL_HTTP, "ft_tcp_all": ALL_TCP, "ft_flags": FLAGS,
                           "ft_quote": QUOTE_ALL, "ft_merge": MERGE, "ft_merge_cap": MERGE})
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out}: {len(result['scenarios'])} scenarios")


def drive(proc: subprocess.Popen, udp: socket.socket, ports: dict[str, int]) -> dict:
    collector = Collector(proc, udp)
    time.sleep(1.5)  # let the health checks mark dead servers DOWN
    startup = [d.decode("latin-1") for d in collector.take(collector.udp, 0, settle=0.2)]
    recorded = []
    for name, frontend, n_lines, n_dgrams, action in scenarios(ports):
        action()  # type: ignore[operator]
        lines = collector.take(collector.stdout, n_lines, settle=0.3 if n_lines else 1.0)
        dgrams = [d.decode("latin-1") for d in collector.take(collector.udp, n_dgrams, settle=0.2)]
        recorded.append({"scenario": name, "frontend": frontend, "lines": lines, "syslog": dgrams})
        print(f"{name}: {lines} {dgrams}", file=sys.stderr)
    state = record_state_changes(collector, ports)
    return {"startup_syslog": startup, "scenarios": recorded, "server_state": state}


def drive_hostname(proc: subprocess.Popen, udp: socket.socket, ports: dict[str, int]) -> list[str]:
    """log-send-hostname and log-tag: which header each format gets."""
    collector = Collector(proc, udp)
    time.sleep(0.5)
    http_get(ports["p_host"], "/host")
    exchange(ports["p_gtag"], b"GET / HTTP/1.0\r\n\r\n")
    return [d.decode("latin-1") for d in collector.take(collector.udp, 4, settle=0.5)]


def check_config(tmp: str, name: str, text: str) -> list[str]:
    """`haproxy -c` diagnostics, NOTICE lines dropped and the pid replaced by PID."""
    cfg = Path(tmp, f"{name}.cfg")
    cfg.write_text(text)
    proc = subprocess.run(["haproxy", "-c", "-f", str(cfg)], capture_output=True, text=True, timeout=30, cwd=tmp)
    lines = [line.replace(tmp + "/", "") for line in proc.stderr.splitlines() if "[NOTICE]" not in line]
    return [re.sub(r"\(\d+\)", "(PID)", line, count=1) for line in lines]


def record_state_changes(collector: Collector, ports: dict[str, int]) -> list[str]:
    """bk_state/s1 starts DOWN (nothing listens), then comes UP: HAProxy's messages."""
    collector.take(collector.udp, 0, settle=0.2)
    server = serve(EchoHandler, ports["b_state"])
    up = [d.decode("latin-1") for d in collector.take(collector.udp, 1, settle=0.5)]
    server.shutdown()
    server.server_close()
    down = [d.decode("latin-1") for d in collector.take(collector.udp, 1, settle=0.5)]
    return up + down


def record_e2e(out: Path) -> None:
    """Every scenario of the e2e lab against one haproxy: its stdout lines and syslog datagrams."""
    sys.path.insert(0, str(REPO))
    from tests.logs.e2e_lab import DOWN_AT_START, SCENARIOS, Backends
    from tests.logs.e2e_support import HAProxyLive

    backends = Backends()
    with tempfile.TemporaryDirectory() as tmp:
        proxy = HAProxyLive(Path(tmp), backends.ports)
        try:
            proxy.wait_for_stderr(DOWN_AT_START)
            recorded = {}
            for item in SCENARIOS:
                lines, datagrams = proxy.play(item)
                recorded[item.name] = {"lines": lines, "datagrams": datagrams}
                print(f"{item.name}: {lines} {datagrams}", file=sys.stderr)
        finally:
            proxy.stop()
            backends.close()
    version = subprocess.run(["haproxy", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
    result = {"haproxy": version, "recorded": time.strftime("%Y-%m-%d"), "pid": proxy.pid, "scenarios": recorded}
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {out}: {len(recorded)} scenarios")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        help="default: tests/logs/data/haproxy26.json (haproxy26_e2e.json with --e2e)")
    parser.add_argument("--e2e", action="store_true", help="record the end-to-end lab of tests/logs/e2e_lab.py")
    args = parser.parse_args()
    os.environ.setdefault("TZ", "UTC")
    data = REPO / "tests" / "logs" / "data"
    if args.e2e:
        record_e2e(args.out or data / "haproxy26_e2e.json")
    else:
        run(args.out or data / "haproxy26.json")


if __name__ == "__main__":
    main()
