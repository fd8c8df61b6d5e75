"""The end-to-end log lab: one config, the backends and the exchanges that produce each log line (tests, tools).

The same config runs under lb (tests/logs/test_e2e_side_by_side.py) and under
HAProxy 2.6 (the same test when `haproxy` is installed, and
tools/record_haproxy_logs.py --e2e, which records HAProxy's lines into
tests/logs/data/haproxy26_e2e.json for machines without it).  Every scenario
names its frontend, the exchange to play against the proxy's ports, and how
many lines (stdout) and datagrams (the proxy's UDP syslog receiver) it yields.

Ports are per proxy (`Ports`): each proxy has its own listeners and its own
syslog receiver, the backends are shared.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Many aliases, HAProxy's spelling; `|` separated so every field is readable back.
CUSTOM_FORMAT = (
    "ci=%ci|cp=%cp|fi=%fi|fp=%fp|si=%si|sp=%sp|bi=%bi|t=%t|tr=%tr|T=%T|ft=%ft|b=%b|s=%s|TR=%TR|Tw=%Tw|Tc=%Tc"
    "|Tr=%Tr|Ta=%Ta|Tt=%Tt|B=%B|U=%U|ST=%ST|CC=%CC|CS=%CS|ts=%ts|tsc=%tsc|ac=%ac|fc=%fc|bc=%bc|sc=%sc|rc=%rc"
    "|sq=%sq|bq=%bq|hr=%hr|hs=%hs|HM=%HM|HU=%HU|HP=%HP|HQ=%HQ|HV=%HV|ID=%ID|rt=%rt|r=%{+Q}r"
)

FRONTENDS = ("tcp", "tcp_nosrv", "tcp_retry", "tcp_ctimeout", "tcp_null", "http", "rules", "timeouts", "ws",
             "cookie", "clf", "custom", "capture_cookie", "http_null", "errors", "syslog", "rfc5424")  # fmt: skip

CONFIG = """
global
    nbthread 1
defaults
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    log stdout format raw local0
frontend ft_tcp
    mode tcp
    bind 127.0.0.1:{tcp}
    option tcplog
    default_backend bk_tcp
frontend ft_tcp_nosrv
    mode tcp
    bind 127.0.0.1:{tcp_nosrv}
    option tcplog
    default_backend bk_tcp_disabled
frontend ft_tcp_retry
    mode tcp
    bind 127.0.0.1:{tcp_retry}
    option tcplog
    default_backend bk_tcp_refused
frontend ft_tcp_ctimeout
    mode tcp
    bind 127.0.0.1:{tcp_ctimeout}
    option tcplog
    timeout client 300ms
    default_backend bk_tcp
frontend ft_tcp_null
    mode tcp
    bind 127.0.0.1:{tcp_null}
    option tcplog
    option dontlognull
    default_backend bk_tcp
frontend ft_http
    mode http
    bind 127.0.0.1:{http}
    option httplog
    capture request header Host len 32
    use_backend bk_http_disabled if {{ path_beg /nosrv }}
    default_backend bk_http
frontend ft_rules
    mode http
    bind 127.0.0.1:{rules}
    option httplog
    http-request redirect location /elsewhere if {{ path /redirect }}
    http-request deny if {{ path /deny }}
    http-request deny deny_status 429 if {{ path /limit }}
    http-request return status 200 content-type text/plain string "ok" if {{ path /return }}
    default_backend bk_http
frontend ft_timeouts
    mode http
    bind 127.0.0.1:{timeouts}
    option httplog
    timeout http-request 300ms
    use_backend bk_slow if {{ path /slow }}
    default_backend bk_http
frontend ft_ws
    mode http
    bind 127.0.0.1:{ws}
    option httplog
    default_backend bk_ws
frontend ft_cookie
    mode http
    bind 127.0.0.1:{cookie}
    option httplog
    default_backend bk_cookie
frontend ft_clf
    mode http
    bind 127.0.0.1:{clf}
    option httplog clf
    capture request header Host len 40
    default_backend bk_http
frontend ft_custom
    mode http
    bind 127.0.0.1:{custom}
    capture request header Host len 40
    capture request header User-Agent len 10
    capture response header X-Resp len 10
    log-format "{custom_format}"
    default_backend bk_http
frontend ft_capture_cookie
    mode http
    bind 127.0.0.1:{capture_cookie}
    option httplog
    capture cookie APPSESS len 20
    default_backend bk_http
frontend ft_http_null
    mode http
    bind 127.0.0.1:{http_null}
    option httplog
    option dontlognull
    default_backend bk_http
frontend ft_errors
    mode http
    bind 127.0.0.1:{errors}
    option httplog
    option log-separate-errors
    no log
    log 127.0.0.1:{udp} local0
    use_backend bk_http_disabled if {{ path_beg /nosrv }}
    default_backend bk_http
frontend ft_syslog
    mode http
    bind 127.0.0.1:{syslog}
    option httplog
    no log
    log 127.0.0.1:{udp} local0
    default_backend bk_http
frontend ft_rfc5424
    mode tcp
    bind 127.0.0.1:{rfc5424}
    option tcplog
    no log
    log 127.0.0.1:{udp} format rfc5424 local1
    default_backend bk_tcp
backend bk_tcp
    mode tcp
    server s1 127.0.0.1:{b_echo}
backend bk_tcp_disabled
    mode tcp
    server s1 127.0.0.1:{b_echo} disabled
backend bk_tcp_refused
    mode tcp
    retries 2
    timeout connect 100ms
    server closed 127.0.0.1:{b_closed}
backend bk_http
    mode http
    server web1 127.0.0.1:{b_web}
backend bk_http_disabled
    mode http
    server web1 127.0.0.1:{b_web} disabled
backend bk_slow
    mode http
    timeout server 300ms
    server slow 127.0.0.1:{b_web}
backend bk_ws
    mode http
    timeout tunnel 5s
    server ws 127.0.0.1:{b_web}
backend bk_cookie
    mode http
    cookie SRVID insert indirect nocache
    server web1 127.0.0.1:{b_web} cookie w1
    server web2 127.0.0.1:{b_closed} cookie w2 check inter 100ms fall 1 rise 1
"""
DOWN_AT_START = "Server bk_cookie/web2 is DOWN"  # what both print once the cookie scenarios can run


Ports = dict[str, int]


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def proxy_ports() -> Ports:
    """Listeners of one proxy (the syslog receiver's port is added by its owner)."""
    return {name: free_port() for name in FRONTENDS}


def config_text(ports: Ports, backends: Ports) -> str:
    return CONFIG.format(custom_format=CUSTOM_FORMAT, **ports, **backends)


# -- backends ------------------------------------------------------------------------------------


class WebBackend(http.server.BaseHTTPRequestHandler):
    """200 with a capturable header and cookie; /slow answers late, /close hangs up, /chat upgrades."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:  # noqa: N802 (http.server naming)
        if self.path.startswith("/close"):
            self.close_connection = True  # no response at all: the proxy sees the server close (502 SH)
            return
        if self.path.startswith("/slow"):
            time.sleep(1.0)
        if self.path.startswith("/chat"):
            self.upgrade()
            return
        body = b"hello\n"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Resp", "r|1")
        self.send_header("Set-Cookie", "APPSESS=srv42; path=/")
        self.end_headers()
        self.wfile.write(body)

    def upgrade(self) -> None:
        key = self.headers.get("Sec-WebSocket-Key", "") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", base64.b64encode(hashlib.sha1(key.encode()).digest()).decode())
        self.end_headers()
        self.wfile.flush()
        self.connection.settimeout(5)
        try:
            while data := self.connection.recv(4096):
                self.connection.sendall(data)  # echo, so the client sees the tunnel work
        except OSError:
            pass
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


class _Threaded(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that reset are part of the scenarios


class _Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        try:
            while data := self.request.recv(4096):
                self.request.sendall(data)
        except OSError:
            pass


class EchoServer:
    """A quiet echo server (health checks that reset it print nothing)."""

    def __init__(self, port: int = 0) -> None:
        self.server = _Threaded(("127.0.0.1", port), _Echo)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Backends:
    """The echo and web servers shared by both proxies, and a port nothing listens on."""

    def __init__(self) -> None:
        self.servers = [_Threaded(("127.0.0.1", 0), _Echo), _Threaded(("127.0.0.1", 0), WebBackend)]
        for server in self.servers:
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.ports: Ports = {"b_echo": self.servers[0].server_address[1], "b_web": self.servers[1].server_address[1],
                             "b_closed": free_port()}  # fmt: skip

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


# -- clients -------------------------------------------------------------------------------------


def exchange(port: int, payload: bytes, half_close: bool = True, linger: float = 0.0) -> bytes:
    """Send `payload` (may be empty), half-close unless told not to, read until the peer closes.

    `linger`: wait that long after the first reply before half-closing (a client that goes idle).
    """
    with socket.create_connection(("127.0.0.1", port), timeout=8) as sock:
        chunks = []
        try:
            if payload:
                sock.sendall(payload)
            if linger:
                chunks.append(sock.recv(65536))
                time.sleep(linger)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
            while data := sock.recv(65536):
                chunks.append(data)
        except OSError:  # ECONNRESET, ENOTCONN: a proxy resets a client whose data it never read
            pass
        return b"".join(chunks)


def http_get(port: int, path: str, headers: str = "") -> bytes:
    """A request with `Connection: close`, read until the proxy closes (no half-close: browsers do not)."""
    request = f"GET {path} HTTP/1.1\r\nHost: www.example.com\r\n{headers}Connection: close\r\n\r\n"
    return exchange(port, request.encode("latin-1"), half_close=False)


def idle_client(port: int, payload: bytes) -> None:
    """Send, read the echo, then stay silent until the proxy's client timeout closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=8) as sock:
        sock.sendall(payload)
        sock.recv(65536)
        try:
            while sock.recv(65536):
                pass
        except OSError:
            pass


WS_REQUEST = (b"GET /chat HTTP/1.1\r\nHost: ws.example.com\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")  # fmt: skip


def websocket(port: int, while_open: Callable[[], None] | None = None) -> None:
    """Upgrade, send a frame through the tunnel and read its echo, call `while_open`, then close."""
    with socket.create_connection(("127.0.0.1", port), timeout=8) as sock:
        sock.sendall(WS_REQUEST)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError(f"closed before the 101: {head!r}")
            head += chunk
        assert head.startswith(b"HTTP/1.1 101 "), head
        sock.sendall(b"\x81\x02hi")
        echoed = head.split(b"\r\n\r\n", 1)[1]
        while len(echoed) < 4:
            echoed += sock.recv(4096)
        if while_open is not None:
            while_open()


# -- scenarios -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    frontend: str  # port name in Ports
    play: Callable[[Ports], object]
    lines: int = 1  # traffic lines on stdout
    datagrams: int = 0  # datagrams on the proxy's syslog receiver
    loose: frozenset[str] = frozenset()  # fields compared by shape only
    formats: tuple[str, ...] = ()


def _get(frontend: str, path: str, headers: str = "") -> Callable[[Ports], bytes]:
    return lambda ports: http_get(ports[frontend], path, headers)


def _send(frontend: str, payload: bytes, **kwargs: object) -> Callable[[Ports], bytes]:
    return lambda ports: exchange(ports[frontend], payload, **kwargs)  # type: ignore[arg-type]


def _twice(first: Callable[[Ports], object], second: Callable[[Ports], object]) -> Callable[[Ports], None]:
    def play(ports: Ports) -> None:
        first(ports)
        second(ports)

    return play


# Not followed by a half-close: HAProxy would sometimes see the client's end first and log CR-- instead of PR--.
BAD_REQUEST = b"GARBAGE\x01 / HTTP/1.1\r\n\r\n"

SCENARIOS = [
    Scenario("tcp_normal", "tcp", _send("tcp", b"hello\n")),
    Scenario("tcp_nosrv", "tcp_nosrv", _send("tcp_nosrv", b"hello\n")),
    Scenario("tcp_retries", "tcp_retry", _send("tcp_retry", b"hello\n")),
    Scenario("tcp_client_timeout", "tcp_ctimeout", lambda ports: idle_client(ports["tcp_ctimeout"], b"hi\n")),
    Scenario("tcp_dontlognull", "tcp_null", _twice(_send("tcp_null", b""), _send("tcp_null", b"x"))),
    Scenario("http_normal_capture", "http", _get("http", "/index.html?x=1")),
    Scenario("http_503_nosrv", "http", _get("http", "/nosrv/x")),
    Scenario("http_redirect", "rules", _get("rules", "/redirect")),
    Scenario("http_deny", "rules", _get("rules", "/deny")),
    Scenario("http_deny_429", "rules", _get("rules", "/limit")),
    Scenario("http_return", "rules", _get("rules", "/return")),
    Scenario("http_408_request_timeout", "timeouts",
             _send("timeouts", b"GET / HTTP/1.1\r\nHost: x\r\n", half_close=False)),
    Scenario("http_504_server_timeout", "timeouts", _get("timeouts", "/slow")),
    Scenario("http_502_server_closed", "timeouts", _get("timeouts", "/close")),
    Scenario("http_400_bad_request", "timeouts", _send("timeouts", BAD_REQUEST, half_close=False)),
    Scenario("http_400_client_aborted", "timeouts", _send("timeouts", b"GET / HTTP/1.1\r\n")),
    Scenario("http_empty_connection", "http", _send("http", b"")),
    Scenario("http_websocket", "ws", lambda ports: websocket(ports["ws"])),
    Scenario("http_cookie_insert", "cookie", _get("cookie", "/index.html")),
    Scenario("http_cookie_valid", "cookie", _get("cookie", "/index.html", "Cookie: SRVID=w1\r\n")),
    Scenario("http_cookie_down_server", "cookie", _get("cookie", "/index.html", "Cookie: SRVID=w2\r\n")),
    Scenario("http_clf", "clf", _get("clf", "/clf?x=1")),
    Scenario("http_custom_format", "custom", _get("custom", "/path/to/page.html?q=1&r=%22x",
             "User-Agent: curl/8.0.0-long\r\nCookie: APPSESS=client1\r\n"), formats=(CUSTOM_FORMAT,)),
    Scenario("http_custom_format_rejected", "custom", _send("custom", BAD_REQUEST, half_close=False),
             formats=(CUSTOM_FORMAT,)),
    Scenario("http_capture_cookie", "capture_cookie", _get("capture_cookie", "/", "Cookie: APPSESS=client1\r\n")),
    Scenario("http_dontlognull", "http_null", _twice(_send("http_null", b""), _get("http_null", "/after-null"))),
    Scenario("http_dontlognull_partial_request", "http_null", _send("http_null", b"GET / HTTP/1.1\r\n")),
    Scenario("syslog_separate_errors_info", "errors", _get("errors", "/fine"), lines=0, datagrams=1),
    Scenario("syslog_separate_errors_err", "errors", _get("errors", "/nosrv/x"), lines=0, datagrams=1),
    Scenario("syslog_rfc3164", "syslog", _get("syslog", "/syslog"), lines=0, datagrams=1),
    Scenario("syslog_rfc5424", "rfc5424", _send("rfc5424", b"hello\n"), lines=0, datagrams=1),
]
BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}
