"""The traffic-control calls the worker's engine makes, and when (worker).

Everything here is a plain function of the config objects and the
Txn/ConnFacts the engine already has (lb.rules.txn); nothing blocks,
nothing allocates beyond what a rule does.  In order of a connection's life:

    verdict = connection_accepted(frontend, facts)     # right after accept(); before reading anything
        REJECT: close at once, log nothing, count denied_conn; SILENT_DROP: silent_drop(sock), then close;
        facts.expect_proxy: read a PROXY header even if the bind lacks accept-proxy
    verdict = session_started(frontend, facts)         # after the PROXY header and the TLS handshake
        REJECT / SILENT_DROP as above (HAProxy counts denied_sess)
    mode tcp, per stream (txn = Txn(facts, None, frontend)):
        delay = inspect_delay(frontend)                # ms or None: how long content rules may wait
        verdict = content_rules(frontend, txn, data, final)   # each time bytes arrive, then once final
            NEED_MORE: keep reading (bounded by tune.bufsize) until the delay expires, then call with final=True
            ACCEPT: route (use_backend sees req.ssl_sni ... with content.final set), then the same call
                    with the backend if it differs and has content rules; REJECT / SILENT_DROP: close
        server = choose_server(txn, backend, is_up)    # use-server, then stick match; None: balance
        server_connected(txn, server)                  # store-request (+ store-response in mode tcp)
    mode http, per request (txn built as today):
        http_request(txn)                              # once the head is parsed, before http-request rules
        backend_request(txn)                           # before the backend's http-request rules
        server = choose_server(txn, backend, is_up)    # after cookie persistence, before balancing
        server_connected(txn, server) / response_stored(txn, server)   # once connected / response head parsed
        http_error(txn)                                # a 400, a denied or tarpitted request, a 401/407
        http_response(txn, status)                     # the server's status: 4xx -> http_err, 5xx -> http_fail
        delay = tarpit_delay(frontend, backend)        # for a Verdict of kind "tarpit": hold, then reply
    both modes:
        transferred(txn, bytes_in, bytes_out)          # whenever bytes are accounted (at least at the end)
        stream_end(txn)                                # the request / TCP stream is over (after its log line)
        session_end(facts)                             # the connection is closed (after its last log line)
        idle(budget)                                   # from the heartbeat: tombstone expired entries

Verdicts are strings; `ACCEPT` also stands for "no rule decided".
"""

from __future__ import annotations

import socket
from typing import Any, Callable

from lb.rules import tcp_rules
from lb.rules.stick_rules import forced_server, stick_match, store_response, store_server
from lb.rules.txn import Content, Txn
from lb.sticktables import clock, counters, fast
from lb.sticktables.layout import H_USED
from lb.sticktables.model import tables_of

ACCEPT, REJECT, SILENT_DROP, NEED_MORE = tcp_rules.ACCEPT, tcp_rules.REJECT, tcp_rules.SILENT_DROP, tcp_rules.NEED_MORE
AREA = "tcp"


def _settings(proxy: Any) -> Any:
    return proxy.areas.get(AREA) if proxy is not None else None


def connection_accepted(frontend: Any, facts: Any) -> str:
    """`tcp-request connection` rules on the facts of a connection just accepted."""
    settings = _settings(frontend)
    if settings is None or not settings.connection_program:
        return ACCEPT
    return tcp_rules.run(settings.connection_program, Txn(facts, None, frontend)) or ACCEPT


def session_started(frontend: Any, facts: Any) -> str:
    """`tcp-request session` rules, then the session counts of tracked entries (sess_cnt/rate)."""
    settings = _settings(frontend)
    verdict = ACCEPT
    if settings is not None and settings.session_program:
        verdict = tcp_rules.run(settings.session_program, Txn(facts, None, frontend)) or ACCEPT
    if verdict == ACCEPT and facts.stkctr is not None:
        now = clock.now_ms()
        for ctr in facts.stkctr:
            if ctr is not None:
                counters.session(ctr, now)
    return verdict


def inspect_delay(proxy: Any) -> int | None:
    """`tcp-request inspect-delay` of a proxy in ms (None: content rules never wait)."""
    settings = _settings(proxy)
    return settings.inspect_delay if settings is not None else None


def has_content_rules(proxy: Any) -> bool:
    settings = _settings(proxy)
    return settings is not None and bool(settings.content_program)


def content_rules(proxy: Any, txn: Any, data: bytes, final: bool) -> str:
    """`tcp-request content` rules of `proxy` on the first bytes of a mode tcp stream.

    `final`: no more bytes will be waited for (the inspect delay expired, the
    buffer is full, or the client closed); without an inspect delay every
    call is final, as in HAProxy."""
    settings = _settings(proxy)
    content = txn.content
    if content is None:
        content = txn.content = Content(data, final)
    else:
        content.data, content.final = data, final
    if settings is None or not settings.content_program:
        content.final = True
        return ACCEPT
    if not settings.inspect_delay:
        content.final = final = True
    verdict = tcp_rules.run(settings.content_program, txn, final) or ACCEPT
    if verdict != NEED_MORE:
        content.final = True  # later fetches (use_backend, logs) take what is there
    return verdict


def http_request(txn: Any) -> None:
    """A parsed HTTP request: http_req_cnt/rate of each counter the stream tracks, else the session's."""
    _each_counter(txn, counters.http_request)


def backend_request(txn: Any) -> None:
    """Entering the backend (HAProxy's stream_inc_be_http_req_ctr): counters tracked by its rules."""
    ctrs = txn.stkctr
    if ctrs is None:
        return
    now = clock.now_ms()
    for ctr in ctrs:
        if ctr is not None and ctr.flags & counters.TRACK_BACKEND:
            counters.http_request(ctr, now)


def http_error(txn: Any) -> None:
    """A request error HAProxy counts in http_err_*: 400, deny, tarpit, 401/407."""
    _each_counter(txn, counters.http_error)


def http_response(txn: Any, status: int) -> None:
    """The server's response status: 4xx counts as an error, 5xx but 501/505 as a failure."""
    if 400 <= status < 500:
        _each_counter(txn, counters.http_error)
    elif 500 <= status < 600 and status not in (501, 505):
        _each_counter(txn, counters.http_failure)


def _counting(txn: Any) -> list[Any]:
    """For each n, counter n of the stream, else of the session (HAProxy's stream_inc_*_ctr)."""
    stream, session = txn.stkctr, txn.facts.stkctr
    found: list[Any] = []
    if stream is None and session is None:
        return found
    for num in range(counters.NSTKCTR):
        ctr = stream[num] if stream is not None else None
        if ctr is None and session is not None:
            ctr = session[num]
        if ctr is not None:
            found.append(ctr)
    return found


def _each_counter(txn: Any, count: Callable[[Any, int], None]) -> None:
    """Apply `count` to the counters the stream counts with (`_counting`)."""
    ctrs = _counting(txn)
    if ctrs:
        now = clock.now_ms()
        for ctr in ctrs:
            count(ctr, now)


def transferred(txn: Any, bytes_in: int, bytes_out: int) -> None:
    """Bytes from (in) and to (out) the client since the last call, in the tables that store them."""
    ctrs = _counting(txn)
    if ctrs:
        now = clock.now_ms()
        for ctr in ctrs:
            if ctr.table.counts_bytes:  # the usual table stores no bytes: no call
                counters.transferred(ctr, bytes_in, bytes_out, now)


def stream_end(txn: Any) -> None:
    """The request (HTTP) or stream (TCP) is over: release what it tracked (conn_cur -1)."""
    ctrs = txn.stkctr
    if ctrs is None:
        return
    txn.stkctr = None
    now = clock.now_ms()
    session = txn.facts.stkctr
    shard = counters.WRITER
    for num in (0, 1, 2):
        ctr = ctrs[num]
        if ctr is None or (session is not None and session[num] is not None):
            continue
        table = ctr.table
        rows, rw, claim = table.rows, table.rw, ctr.claim
        row = (shard * table.cap + ctr.pos) * rw
        if rows[row] != claim or table.nworkers != 1 or table.header[H_USED]:  # more than one shard
            fast.release(table, ctr.pos, claim, shard, now, table.conn_cur)
            continue
        conn_cur = table.conn_cur
        if conn_cur and rows[row + conn_cur] > 0:
            rows[row + conn_cur] -= 1
        rows[row + 2] -= 1  # REFS
        rows[row + 1] = now + table.expire  # EXPIRE


def session_end(facts: Any) -> None:
    """The connection is closed: release what its connection/session rules tracked."""
    ctrs = facts.stkctr
    if ctrs is None:
        return
    facts.stkctr = None
    now = clock.now_ms()
    for ctr in ctrs:
        if ctr is not None:
            counters.release(ctr, now)


def choose_server(txn: Any, backend: Any, is_up: Callable[[Any], bool], assigned: bool = False) -> Any:
    """The server `use-server`, else a `stick match|on` entry, sends the stream to (a
    config Server, or None: balance).  `assigned`: cookie persistence already chose one,
    so stick rules only collect the keys to store."""
    settings = _settings(backend)
    if settings is None:
        return None
    server = None
    if settings.server_rules and not assigned:
        server = forced_server(settings, txn, backend, is_up)
    if settings.stick_rules:
        matched = stick_match(settings, txn, backend, is_up, assigned or server is not None)
        server = server or matched
    return server


def server_connected(txn: Any, server: Any) -> None:
    """The stream is connected to `server`: store the keys of `stick on|store-request` rules;
    in mode tcp also those of `store-response` (HAProxy runs them when the server answers)."""
    settings = _settings(txn.backend)
    if settings is None:
        return
    if txn.request is None and settings.store_response_rules:
        store_response(settings, txn)
    store_server(txn, server)


def response_stored(txn: Any, server: Any) -> None:
    """mode http, a response head is parsed: `stick store-response` rules, then store."""
    settings = _settings(txn.backend)
    if settings is None or not (settings.store_response_rules or txn.stick):
        return
    store_response(settings, txn)
    store_server(txn, server)


def tarpit_delay(frontend: Any, backend: Any) -> int:
    """How long a tarpitted request is held (ms): `timeout tarpit` of the backend (the
    frontend while no backend is chosen), else `timeout connect`, as HAProxy."""
    proxy = backend or frontend
    timeouts = proxy.timeouts
    value = getattr(timeouts, "tarpit", None)
    if value is None:
        value = timeouts.connect
    return value or 0


def silent_drop(sock: socket.socket) -> None:
    """HAProxy's silent-drop on Linux: the client is not told (TTL 1, no lingering RST), then close."""
    try:
        if sock.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass


def idle(config: Any, budget: int = 4096) -> int:
    """From the worker's heartbeat: tombstone expired entries, `budget` positions per table."""
    now, killed = clock.now_ms(), 0
    for cfg in tables_of(config).values():
        table = cfg.store_obj
        if table is not None and counters.WRITER >= 0:
            killed += table.purge(counters.WRITER, now, budget)
    return killed
