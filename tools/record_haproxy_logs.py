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
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.server
import json
import os
import queue
import re
import socket
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ALL_HTTP = (
    "ci=%ci|cp=%cp|fi=%fi|fp=%fp|bi=%bi|bp=%bp|si=%si|sp=%sp|t=%t|tr=%tr|trg=%trg|trl=%trl|T=%T|Tl=%Tl"
    "|Ts=%Ts|ms=%ms|f=%f|ft=%ft|b=%b|s=%s|Th=%Th|Ti=%Ti|TR=%TR|Tq=%Tq|Tw=%Tw|Tc=%Tc|Tr=%Tr|Td=%Td"
    "|Ta=%Ta|Tt=%Tt|Tu=%Tu|B=%B|U=%U|ST=%ST|CC=%CC|CS=%CS|ts=%ts|tsc=%tsc|ac=%ac|fc=%fc|bc=%bc"
    "|sc=%sc|rc=%rc|sq=%sq|bq=%bq|hr=%hr|hrl=%hrl|hs=%hs|hsl=%hsl|HM=%HM|HU=%HU|HP=%HP|HPO=%HPO"
    "|HQ=%HQ|HV=%HV|ID=%ID|r=%r"
)
ALL_TCP = (
    "ci=%ci|cp=%cp|fi=%fi|fp=%fp|bi=%bi|bp=%bp|si=%si|sp=%sp|t=%t|T=%T|Tl=%Tl|Ts=%Ts|ms=%ms|f=%f"
    "|ft=%ft|b=%b|s=%s|Th=%Th|Tw=%Tw|Tc=%Tc|Td=%Td|Tt=%Tt|Tu=%Tu|B=%B|U=%U|ST=%ST|ts=%ts|tsc=%tsc"
    "|ac=%ac|fc=%fc|bc=%bc|sc=%sc|rc=%rc|sq=%sq|bq=%bq|ID=%ID|hr=%hr|hs=%hs"
)
FLAGS = (
    "%{+Q}ci %{+X}ci:%{+X}cp %{+Q}b/%{+Q}s %{+Q}ST %{+Q}ft %{+Q}r %{+E}r %{+Q,+E}HU %{+X}Ts %{+X}ms "
    "%{+Q}CC %{+Q}hr %{+Q}hrl %{+Q}ID %{-M}ID %{+M}ID 100%% end"
)
QUOTE_ALL = "%{+Q}o %ci %b %s %CC %r %{-Q}ST %hr"
MERGE = "a  %hr %hs  b   %hr%hs c %hrl %hsl d %ci%hr %b"

CONFIG = """
global
    log-tag haproxy
    log 127.0.0.1:{udp} local1
    stats timeout 10s
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    log stdout format raw local0
frontend ft_tcp
    mode tcp
    bind 127.0.0.1:{p_tcp}
    option tcplog
    default_backend bk_tcp
frontend ft_tcp_nosrv
    mode tcp
    bind 127.0.0.1:{p_tcp_nosrv}
    option tcplog
    default_backend bk_tcp_down
frontend ft_tcp_retry
    mode tcp
    bind 127.0.0.1:{p_tcp_retry}
    option tcplog
    default_backend bk_tcp_refused
frontend ft_tcp_redisp
    mode tcp
    bind 127.0.0.1:{p_tcp_redisp}
    option tcplog
    default_backend bk_tcp_redisp
frontend ft_tcp_null
    mode tcp
    bind 127.0.0.1:{p_tcp_null}
    option tcplog
    option dontlognull
    default_backend bk_tcp_greet
frontend ft_tcp_all
    mode tcp
    bind 127.0.0.1:{p_tcp_all}
    unique-id-format %{{+X}}o%ci:%cp_%Ts
    log-format "{all_tcp}"
    default_backend bk_tcp
frontend ft_http
    bind 127.0.0.1:{p_http}
    option httplog
    capture request header Host len 32
    use_backend bk_down if {{ path_beg /down }}
    default_backend bk_http
frontend f_pp
    bind 127.0.0.1:{p_pp}
    option httplog
    http-request redirect location /elsewhere if {{ path /r1 }}
    http-request deny if {{ path /deny }}
    default_backend bk_plain
frontend fh
    bind 127.0.0.1:{p_fh}
    option httplog
    timeout http-request 1s
    default_backend bh
frontend f_ws
    bind 127.0.0.1:{p_ws}
    option httplog
    default_backend b_ws
frontend ft_http_all
    bind 127.0.0.1:{p_all}
    unique-id-format %{{+X}}o%ci:%cp_%fi:%fp_%Ts_%rt
    capture request header Host len 40
    capture request header User-Agent len 10
    capture response header X-Resp len 10
    capture cookie APPSESS len 20
    log-format "{all_http}"
    default_backend bk_plain
frontend ft_flags
    bind 127.0.0.1:{p_flags}
    capture request header Host len 40
    unique-id-format abc
    log-format "{flags}"
    default_backend bk_plain
frontend ft_quote
    bind 127.0.0.1:{p_quote}
    capture request header Host len 40
    log-format "{quote_all}"
    default_backend bk_plain
frontend ft_merge
    bind 127.0.0.1:{p_merge}
    log-format "{merge}"
    default_backend bk_plain
frontend ft_merge_cap
    bind 127.0.0.1:{p_merge_cap}
    capture request header Host len 40
    capture response header X-Resp len 10
    log-format "{merge}"
    default_backend bk_plain
frontend ft_clf
    bind 127.0.0.1:{p_clf}
    option httplog clf
    capture request header Host len 40
    default_backend bk_plain
frontend ft_trunc
    bind 127.0.0.1:{p_trunc}
    option httplog
    log 127.0.0.1:{udp} len 100 local2
    default_backend bk_plain
frontend f_noformat
    mode tcp
    bind 127.0.0.1:{p_noformat}
    default_backend bk_tcp
frontend ft_syslog
    bind 127.0.0.1:{p_syslog}
    option httplog
    no log
    log 127.0.0.1:{udp} local0
    log 127.0.0.1:{udp} format rfc3164 local1 info
    log 127.0.0.1:{udp} format rfc5424 local2
    log 127.0.0.1:{udp} format short local3
    log 127.0.0.1:{udp} format priority local4
    log 127.0.0.1:{udp} format timed local5
    log 127.0.0.1:{udp} format iso local6
    log 127.0.0.1:{udp} format raw local7
    log 127.0.0.1:{udp} local0 notice
    log 127.0.0.1:{udp} local7 debug err
    default_backend bk_plain
frontend ft_errors
    bind 127.0.0.1:{p_errors}
    option httplog
    option log-separate-errors
    no log
    log 127.0.0.1:{udp} format short local0
    use_backend bk_down if {{ path_beg /down }}
    default_backend bk_plain
backend bk_tcp
    mode tcp
    server s1 127.0.0.1:{b_echo}
backend bk_tcp_down
    mode tcp
    server dead 127.0.0.1:{closed} check inter 200ms fall 1 rise 1
backend bk_tcp_refused
    mode tcp
    retries 3
    server nocheck 127.0.0.1:{closed}
backend bk_tcp_redisp
    mode tcp
    balance first
    retries 1
    option redispatch
    server s1 127.0.0.1:{closed}
    server s2 127.0.0.1:{b_echo}
backend bk_tcp_greet
    mode tcp
    server s1 127.0.0.1:{b_greet}
backend bk_http
    cookie SRVID insert indirect nocache
    server web1 127.0.0.1:{b_http} cookie w1
    server web2 127.0.0.1:{closed} cookie w2 check inter 200ms fall 1 rise 1
backend bk_down
    server dead 127.0.0.1:{closed} check inter 200ms fall 1 rise 1
backend bk_plain
    server s1 127.0.0.1:{b_http}
backend bh
    timeout server 1s
    server slow 127.0.0.1:{b_http}
backend b_ws
    timeout tunnel 1h
    server ws 127.0.0.1:{b_http}
backend bk_state
    log 127.0.0.1:{udp} local0
    server s1 127.0.0.1:{b_state} check inter 200ms fall 1 rise 1
"""


HOSTNAME_CONFIG = """
global
    log-send-hostname myhost
    log-tag gtag
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe_host
    bind 127.0.0.1:{p_host}
    option httplog
    log-tag ptag
    log 127.0.0.1:{udp} local0
    log 127.0.0.1:{udp} format local local0
    log 127.0.0.1:{udp} format rfc5424 local0
    default_backend be
frontend fe_gtag
    bind 127.0.0.1:{p_gtag}
    option tcplog
    log 127.0.0.1:{udp} format rfc3164 local0
    default_backend be
backend be
    server s1 127.0.0.1:{b_http}
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


class HttpBackend(http.server.BaseHTTPRequestHandler):
    """200 with a capturable header and cookie; /slow sleeps; /chat upgrades."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        if self.path.startswith("/slow"):
            time.sleep(2)
        if self.path.startswith("/chat"):
            key = self.headers.get("Sec-WebSocket-Key", "") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", base64.b64encode(hashlib.sha1(key.encode()).digest()).decode())
            self.end_headers()
            self.wfile.flush()
            self.connection.settimeout(5)
            try:
                while self.connection.recv(4096):
                    pass
            except OSError:
                pass
            self.close_connection = True
            return
        body = b"hello\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Resp", "r|1")
        self.send_header("Set-Cookie", "APPSESS=srv42; path=/")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Threaded(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that reset are part of the scenarios


class EchoHandler(socketserver.BaseRequestHandler):
    greeting = b""

    def handle(self) -> None:
        if self.greeting:
            self.request.sendall(self.greeting)
        while True:
            data = self.request.recv(4096)
            if not data:
                return
            self.request.sendall(data)


class GreetHandler(EchoHandler):
    greeting = b"220 hello\r\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(handler: type, port: int) -> Threaded:
    server = Threaded(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def exchange(port: int, payload: bytes, half_close: bool = True, pause: float = 0.0) -> bytes:
    """Send `payload` (may be empty), half-close unless told not to, read until the peer closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=8) as sock:
        if pause:
            time.sleep(pause)
        if payload:
            sock.sendall(payload)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                chunks.append(data)
        except OSError:
            pass
        return b"".join(chunks)


def http_get(port: int, path: str, headers: str = "", close: bool = True) -> bytes:
    conn = "Connection: close\r\n" if close else ""
    request = f"GET {path} HTTP/1.1\r\nHost: www.example.com\r\n{headers}{conn}\r\n".encode("latin-1")
    return exchange(port, request)


def websocket(port: int) -> None:
    request = (b"GET /chat HTTP/1.1\r\nHost: ws.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
               b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=8) as sock:
        sock.sendall(request)
        sock.recv(4096)
        time.sleep(0.3)


class Collector:
    """Reads HAProxy's stdout and the UDP syslog socket into queues."""

    _udp_queues: dict[int, queue.Queue[bytes]] = {}

    def __init__(self, proc: subprocess.Popen, udp: socket.socket) -> None:
        self.stdout: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read_stdout, args=(proc,), daemon=True).start()
        if udp.fileno() not in self._udp_queues:  # one reader per socket, shared by the runs
            self._udp_queues[udp.fileno()] = queue.Queue()
            threading.Thread(target=self._read_udp, args=(udp,), daemon=True).start()
        self.udp = self._udp_queues[udp.fileno()]

    def _read_stdout(self, proc: subprocess.Popen) -> None:
        for raw in proc.stdout:  # type: ignore[union-attr]
            self.stdout.put(raw.decode("latin-1").rstrip("\n"))

    def _read_udp(self, udp: socket.socket) -> None:
        while True:
            try:
                self._udp_queues[udp.fileno()].put(udp.recv(70000))
            except OSError:
                return

    @staticmethod
    def take(q: queue.Queue, count: int, settle: float = 0.4) -> list:
        items = []
        deadline = time.monotonic() + 8
        while len(items) < count and time.monotonic() < deadline:
            try:
                items.append(q.get(timeout=0.1))
            except queue.Empty:
                continue
        time.sleep(settle)
        while not q.empty():
            items.append(q.get_nowait())
        return items


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parent.parent / "tests" / "logs" / "data" / "haproxy26.json"
    parser.add_argument("--out", type=Path, default=default)
    args = parser.parse_args()
    os.environ.setdefault("TZ", "UTC")
    run(args.out)


if __name__ == "__main__":
    main()
