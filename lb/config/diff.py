"""What a new configuration changes, in a few lines for `lbctl reload` (master).

Standard library only.  Backends (and frontends) added or removed, servers
added or removed, and servers whose line changed, each described by the
settings that matter at runtime:

    + backend be_api
    - server be_web/web3
    ~ server be_web/web1: 127.0.0.1:8001 weight 10 -> 127.0.0.1:8001 weight 20
"""

from __future__ import annotations

from lb.config.model import Config, Server


def server_line(server: Server) -> str:
    """The runtime-relevant part of a server line, in HAProxy's keyword order."""
    words = [server.address]
    if server.weight != 1:
        words.append(f"weight {server.weight}")
    if server.maxconn:
        words.append(f"maxconn {server.maxconn}")
    if server.maxqueue:
        words.append(f"maxqueue {server.maxqueue}")
    if server.backup:
        words.append("backup")
    if server.disabled:
        words.append("disabled")
    if server.cookie:
        words.append(f"cookie {server.cookie}")
    if server.check:
        words.append(f"check inter {server.inter} rise {server.rise} fall {server.fall}")
        if server.check_port:
            words.append(f"port {server.check_port}")
        if server.check_addr:
            words.append(f"addr {server.check_addr}")
    if server.send_proxy:
        words.append("send-proxy" if server.send_proxy == 1 else "send-proxy-v2")
    return " ".join(words)


def config_diff(old: Config, new: Config) -> list[str]:
    lines: list[str] = []
    for kind, before, after in (("frontend", old.frontends, new.frontends), ("backend", old.backends, new.backends)):
        lines += [f"+ {kind} {name}" for name in after if name not in before]
        lines += [f"- {kind} {name}" for name in before if name not in after]
    for name, backend in new.backends.items():
        if name not in old.backends:
            continue
        before = {s.name: s for s in old.backends[name].servers}
        after = {s.name: s for s in backend.servers}
        lines += [f"+ server {name}/{srv}" for srv in after if srv not in before]
        lines += [f"- server {name}/{srv}" for srv in before if srv not in after]
        for srv, server in after.items():
            if srv in before and server_line(before[srv]) != server_line(server):
                lines.append(f"~ server {name}/{srv}: {server_line(before[srv])} -> {server_line(server)}")
    return lines
