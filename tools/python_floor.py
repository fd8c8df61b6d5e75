#!/usr/bin/env python3
"""The least an HTTP proxy in Python can do per request: a yardstick, not a proxy (tool).

    python tools/python_floor.py LISTEN_PORT BACKEND_PORT

tools/bench.py --floor runs it next to lb and HAProxy.  One process, one
`selectors` loop, one backend connection per client connection, and per
keep-alive request exactly what any Python proxy on httptools must do:
read the request, feed it to a request parser, write it to the server,
read the response, feed it to a response parser, write it to the client.
No routing, no rewriting, no timeouts, no errors handled: its req/s and CPU
per request are the floor lb's engine is measured against (what lb adds on
top is rules, head rebuilding, balancing, timers and accounting).
"""

from __future__ import annotations

import selectors
import socket
import sys

import httptools


class Messages:
    """Parser callbacks that only count: the parse itself is the cost measured."""

    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0

    def on_message_complete(self) -> None:
        self.count += 1


class Relay:
    def __init__(self, selector: selectors.BaseSelector, client: socket.socket, backend: tuple[str, int]) -> None:
        self.selector = selector
        self.client = client
        self.server = socket.create_connection(backend)
        for sock in (client, self.server):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.requests = httptools.HttpRequestParser(Messages())
        self.responses = httptools.HttpResponseParser(Messages())
        selector.register(client, selectors.EVENT_READ, self.from_client)
        selector.register(self.server, selectors.EVENT_READ, self.from_server)

    def from_client(self) -> None:
        data = self.client.recv(65536)
        if not data:
            self.close()
            return
        self.requests.feed_data(data)
        self.server.send(data)  # small requests: a short write is not handled

    def from_server(self) -> None:
        data = self.server.recv(65536)
        if not data:
            self.close()
            return
        self.responses.feed_data(data)
        self.client.send(data)

    def close(self) -> None:
        for sock in (self.client, self.server):
            self.selector.unregister(sock)
            sock.close()


def main() -> int:
    listen_port, backend_port = int(sys.argv[1]), int(sys.argv[2])
    selector = selectors.DefaultSelector()
    listener = socket.create_server(("127.0.0.1", listen_port), backlog=1024)
    listener.setblocking(False)

    def accept() -> None:
        client, _ = listener.accept()
        Relay(selector, client, ("127.0.0.1", backend_port))

    selector.register(listener, selectors.EVENT_READ, accept)
    while True:
        for key, _ in selector.select():
            try:
                key.data()
            except OSError:
                pass  # a connection wrk closed mid-exchange: the yardstick does not care


if __name__ == "__main__":
    sys.exit(main())
