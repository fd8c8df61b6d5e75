"""The haproxy 2.6 lab of tools/record_haproxy_logs.py: configs, backends, clients (tool).

Kept apart from the driver so that each file reads on its own: the configs
name every frontend a scenario plays against, the backends and clients are
the smallest servers and requests that produce each log line.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import queue
import socket
import socketserver
import subprocess
import threading
import time

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
