"""Running lb and HAProxy on the e2e lab config, collecting what they log (tests, tools).

A `LiveProxy` is one proxy process with its own listeners (`ports`), its own
UDP syslog receiver (`ports["udp"]`), and what it wrote: `lines` (stdout),
`datagrams` (the receiver), `stderr_text()`.  `play()` runs one scenario on
it and returns the lines and datagrams it produced.  `syslog_differences()`
compares two datagrams modulo the tag (`lb[PID]` against `haproxy[PID]`) and
the timestamp's value.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

from lb.logs.compare import line_differences
from lb.logs.reader import split_header
from tests.logs.e2e_lab import Ports, Scenario, config_text, free_port, proxy_ports
from tests.support import LbProcess, wait_until

# LB_TESTS_WITHOUT_HAPROXY=1 runs the tests as on a machine without haproxy (recorded lines only)
HAPROXY = None if os.environ.get("LB_TESTS_WITHOUT_HAPROXY") else (
    shutil.which("haproxy") or ("/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None))
SETTLE = 0.1  # after the expected lines: time for an unexpected extra one to show (it would fail the slice)
LINE_WAIT = 3.0  # a line is written as the exchange ends; past this, what is missing is reported, not waited for


class UdpCollector:
    """A loopback syslog receiver; every datagram is kept, decoded as latin-1 (bytes preserved)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.datagrams: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                self.datagrams.append(self.sock.recv(65536).decode("latin-1"))
            except OSError:
                return

    def close(self) -> None:
        self.sock.close()


class LiveProxy:
    """Common part of the lb and HAProxy runners."""

    name = ""
    tag = ""

    def __init__(self) -> None:
        self.receiver = UdpCollector()
        self.ports: Ports = {**proxy_ports(), "udp": self.receiver.port}
        self.pid = 0

    @property
    def lines(self) -> list[str]:
        raise NotImplementedError

    @property
    def datagrams(self) -> list[str]:
        return self.receiver.datagrams

    def stderr_text(self) -> str:
        raise NotImplementedError

    def play(self, scenario: Scenario) -> tuple[list[str], list[str]]:
        """Run the exchange; wait (bounded) for the lines and datagrams it should yield; return what came."""
        before = len(self.lines), len(self.datagrams)
        scenario.play(self.ports)
        deadline = time.monotonic() + LINE_WAIT
        while time.monotonic() < deadline and (len(self.lines) - before[0] < scenario.lines
                                               or len(self.datagrams) - before[1] < scenario.datagrams):
            time.sleep(0.01)
        time.sleep(SETTLE)
        return self.lines[before[0]:], self.datagrams[before[1]:]

    def wait_for_stderr(self, text: str, timeout: float = 10.0) -> None:
        wait_until(lambda: text in self.stderr_text(), timeout, what=f"{self.name} stderr: {text!r}")

    def stop(self) -> None:
        self.receiver.close()


class LbLive(LiveProxy):
    name, tag = "lb", "lb"

    def __init__(self, directory: Path, backends: Ports) -> None:
        super().__init__()
        self.process = LbProcess(directory, config_text(self.ports, backends)).start()
        self.pid = self.process.pid

    @property
    def lines(self) -> list[str]:
        return self.process.stdout_lines

    def stderr_text(self) -> str:
        return self.process.stderr_text()

    def stop(self) -> None:
        self.process.stop()
        super().stop()


class HAProxyLive(LiveProxy):
    """`haproxy -db` (foreground, no master: the syslog pid is this process's)."""

    name, tag = "haproxy", "haproxy"

    def __init__(self, directory: Path, backends: Ports, config: str | None = None) -> None:
        super().__init__()
        path = directory / "haproxy.cfg"
        path.write_text(config if config is not None else config_text(self.ports, backends))
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self.proc = subprocess.Popen([HAPROXY or "haproxy", "-db", "-f", str(path)], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)  # fmt: skip
        self.pid = self.proc.pid
        for stream, into in ((self.proc.stdout, self._stdout), (self.proc.stderr, self._stderr)):
            threading.Thread(target=self._read, args=(stream, into), daemon=True).start()
        wait_until(lambda: all(listening(p) for name, p in self.ports.items() if name != "udp"), 10,
                   what="haproxy listening")  # fmt: skip

    @staticmethod
    def _read(stream: object, into: list[str]) -> None:
        for raw in iter(stream.readline, b""):  # type: ignore[attr-defined]
            into.append(raw.decode("latin-1").rstrip("\n"))

    @property
    def lines(self) -> list[str]:
        return self._stdout

    def stderr_text(self) -> str:
        return "\n".join(self._stderr)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        super().stop()


def listening(port: int) -> bool:
    """A listening socket on `port`, seen in /proc/net/tcp (a probe connection would be logged)."""
    with open("/proc/net/tcp") as fh:
        return any(f":{port:04X} " in line and line.split()[3] == "0A" for line in fh)


def play_both(scenario: Scenario, proxies: list[LiveProxy]) -> dict[str, tuple[list[str], list[str]]]:
    """The same exchange on every proxy at once (each proxy still sees one exchange at a time)."""
    results: dict[str, tuple[list[str], list[str]]] = {}
    errors: list[BaseException] = []

    def run(proxy: LiveProxy) -> None:
        try:
            results[proxy.name] = proxy.play(scenario)
        except BaseException as exc:  # noqa: BLE001  re-raised in the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(proxy,)) for proxy in proxies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    if errors:
        raise errors[0]
    return results


# -- syslog headers --------------------------------------------------------------------------------

_LEGACY_DATE = re.compile(r"^(<\d+>)\w{3} [ \d]\d \d\d:\d\d:\d\d ")
_ISO_DATE = re.compile(r"^(<\d+>1 )\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d ")


def header_shape(datagram: str, tag: str, pid: int) -> tuple[str, str]:
    """(header with the date, tag and pid replaced by placeholders, body)."""
    _header, body = split_header(datagram.rstrip("\n"))
    head = datagram[: len(datagram.rstrip("\n")) - len(body)]
    head = _LEGACY_DATE.sub(r"\1DATE ", head)
    head = _ISO_DATE.sub(r"\1DATE ", head)
    head = head.replace(f"{tag}[{pid}]:", "TAG[PID]:").replace(f" {tag} {pid} ", " TAG PID ")
    return head, body


def syslog_differences(ours: str, our_pid: int, theirs: str, their_pid: int, **options: object) -> list[str]:
    """What differs between two datagrams: the header modulo tag/pid/date, the body as lb.logs.compare."""
    problems = []
    for name, text in (("ours", ours), ("haproxy's", theirs)):
        if not text.endswith("\n"):
            problems.append(f"{name} datagram does not end with a line feed: {text!r}")
    our_head, our_body = header_shape(ours, "lb", our_pid)
    their_head, their_body = header_shape(theirs, "haproxy", their_pid)
    if our_head != their_head:
        problems.append(f"syslog header: ours {our_head!r}, haproxy {their_head!r}")
    problems += line_differences(our_body, their_body, **options)  # type: ignore[arg-type]
    return problems


def free_udp_port() -> int:
    return free_port(socket.SOCK_DGRAM)
