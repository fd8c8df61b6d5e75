"""Fixtures of the logging tests: UTC (the recorded HAProxy lines are), recorded data, a UDP receiver."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator

import pytest

from tests.logs.recorded import RECORDED


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    """Dates are rendered in local time: pin it to the recording's (UTC)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture
def recorded() -> dict:
    return RECORDED


class UdpReceiver:
    """A loopback UDP socket that collects syslog datagrams (bounded waits)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"

    def receive(self) -> bytes:
        return self.sock.recv(65536)

    def nothing_within(self, seconds: float) -> bool:
        self.sock.settimeout(seconds)
        try:
            self.sock.recv(65536)
            return False
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(5)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def udp() -> Iterator[UdpReceiver]:
    receiver = UdpReceiver()
    yield receiver
    receiver.close()
