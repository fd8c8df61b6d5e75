"""Server state messages reach the backend's `log` targets (a real UDP syslog receiver), once each.

HAProxy sends them with send_log(s->proxy, ...): `Server be/B is DOWN ...`
at level alert, `Server be/B is UP ...` at notice, `backend be has no
server available!` at emerg.  `local0` makes the PRI 128 + level.
"""

from __future__ import annotations

import socket

import pytest

from tests.checker.helpers import CHECKS, down_line, lb_config, up_line
from tests.support import TagServer, free_port, wait_until


@pytest.mark.parametrize("via_global", [False, True])
def test_state_messages_go_to_the_backend_log_targets(lb_factory, tag_servers, via_global):
    (b,) = tag_servers("B")
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(0.2)
    datagrams: list[bytes] = []

    def received(text: str) -> list[bytes]:
        try:
            while True:
                datagrams.append(receiver.recv(4096))
        except OSError:
            pass
        return [d for d in datagrams if text.encode() in d]

    port = free_port()
    target = f"log 127.0.0.1:{receiver.getsockname()[1]} local0"
    text = lb_config(port, f"    server B 127.0.0.1:{b.port} {CHECKS}", extra="    log global" if via_global
                     else f"    {target}")
    if via_global:
        text = text.replace("global\n", f"global\n    {target}\n", 1)
    lb = lb_factory(text)
    try:
        b.close()
        down_line(lb, "B")
        (down,) = wait_until(lambda: received("Server be/B is DOWN"), 10.0, what="syslog DOWN line")
        assert down.startswith(b"<129>")  # local0 (16 * 8) + alert (1)
        assert down.rstrip(b"\n").endswith(b"0 active and 0 backup servers left. 0 sessions active, 0 requeued, "
                                           b"0 remaining in queue.")
        (alert,) = wait_until(lambda: received("has no server available!"), 10.0, what="syslog backend alert")
        assert alert.startswith(b"<128>") and b"backend be has no server available!" in alert
        back = TagServer("B", port=b.port)
        try:
            up_line(lb, "B")
            (up,) = wait_until(lambda: received("Server be/B is UP"), 10.0, what="syslog UP line")
            assert up.startswith(b"<133>")  # local0 + notice (5)
            assert len(received("Server be/B is DOWN")) == 1  # not also forwarded as a global event
        finally:
            back.close()
    finally:
        receiver.close()
