"""Compression at the points of an exchange: the request, the response head, each body piece, the end (worker).

The engine (workers/http/exchange.py) calls, and only when compression is
configured somewhere:

- `CompressionPlan.on_request(ex)` as the request leaves for the server,
  after every http-request rule (HAProxy's filter looks at the request
  then too): the algorithm the client accepts, and `compression offload`
  removing Accept-Encoding from what the server receives.  It returns a
  `ResponseCompression` for the exchange (`ex.comp`), or None;
- `ResponseCompression.send_head(ex, version, reason)` in place of the
  client side's send_response_head: it decides on the server's response
  (lb.compression.rules, then the worker's ceilings), and sends the head,
  rewritten or not; it returns itself when the body is to be compressed,
  else None;
- `feed(body)` for each piece of body: the compressed bytes to send;
- `end(ex)` in place of the client side's end_response: the end of the
  compressed stream, then the end of the response;
- `release()` when the server connection is dropped (an abort, a client
  gone): zlib's state is freed at once, not when the exchange is collected.

Nothing here knows HTTP/1 framing: the head is rewritten as HAProxy
rewrites its HTX message (Content-Length removed, `transfer-encoding:
chunked` added, which an HTTP/2 client side drops as it drops any
connection header) and the client side frames what it is given.

The decision reads the server's header fields before the http-response
rules (HAProxy decides before them); the rewrite applies after them, on
the Response object they edited when there is one.  `ex.resp_headers` and
`ex.resp_chunked` are given back the server's values once the head is
sent and once the response ended, so that %B is HAProxy's (it counts the
response as the server sent it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lb.compression.budget import Budget
from lb.compression.codec import encoder_memory, new_encoder
from lb.compression.model import ALGORITHM_TOKENS, CompressionLimits, CompressionSettings, limits_of, settings_of
from lb.compression.rules import Algorithm, choose_algorithm, compressed_head, compressible, elements, fields, \
    framing, old_browser  # fmt: skip

if TYPE_CHECKING:
    from lb.rules.message import HeaderList
    from workers.http.exchange import Exchange
    from workers.runtime import BackendRuntime, FrontendRuntime, Runtime


class Resolved:
    """What applies to the requests of one frontend going to one backend (HAProxy:
    the backend's algorithms and types when it has some, else the frontend's;
    offload when either says so)."""

    __slots__ = ("algos", "types", "offload", "limits", "budget")

    def __init__(self, frontend: CompressionSettings | None, backend: CompressionSettings | None,
                 limits: CompressionLimits, budget: Budget) -> None:  # fmt: skip
        algos = backend.algos if backend is not None and backend.algos else frontend.algos if frontend else []
        types = backend.types if backend is not None and backend.types else frontend.types if frontend else []
        self.algos = tuple(Algorithm(name, ALGORITHM_TOKENS[name]) for name in algos)
        self.types = tuple(t.lower().encode("latin-1") for t in types)
        self.offload = bool((backend is not None and backend.offload) or (frontend is not None and frontend.offload))
        self.limits = limits
        self.budget = budget


class CompressionPlan:
    """A frontend's compression, per backend it may route to (built after fork)."""

    __slots__ = ("by_backend",)

    def __init__(self, by_backend: dict[int, Resolved]) -> None:
        self.by_backend = by_backend  # id(BackendRuntime) -> what applies

    def on_request(self, ex: Exchange) -> ResponseCompression | None:
        resolved = self.by_backend.get(id(ex.backend))
        if resolved is None:
            return None
        request = ex.request
        headers = ex.raw_headers if request is None else encoded(request)
        agents = fields(headers, b"user-agent")
        if old_browser(agents[0] if agents else None):
            return None
        algo, named = choose_algorithm(elements(headers, b"accept-encoding"), resolved.algos)
        if algo is None:
            return None
        if named and resolved.offload:
            editable_request(ex).del_header("accept-encoding")
        return ResponseCompression(resolved, algo)


class ResponseCompression:
    """One exchange's compression: chosen on the request, decided on the response head."""

    __slots__ = ("resolved", "algo", "encoder", "memory", "server_chunked", "loop")

    def __init__(self, resolved: Resolved, algo: Algorithm) -> None:
        self.resolved = resolved
        self.algo = algo
        self.encoder: Any = None
        self.memory = 0
        self.server_chunked = False
        self.loop: Any = None

    def send_head(self, ex: Exchange, version: str, reason: bytes) -> ResponseCompression | None:
        """Decide, then send the response head (rewritten when compressing) through the client side."""
        client = ex.client
        server_headers = ex.resp_headers or []
        if not self.start(ex, version, server_headers):
            client.send_response_head(ex, version, reason)
            return None
        head = compressed_head(server_headers, self.algo, self.server_chunked)
        response = ex.response
        if response is not None:  # http-response rules edited the head: apply the changes to their result
            edited = compressed_head(encoded(response), self.algo, self.server_chunked)
            response.headers[:] = [(n.decode("latin-1"), v.decode("latin-1")) for n, v in edited]
        ex.resp_headers = head  # what the client side frames the response by
        try:
            client.send_response_head(ex, version, reason)
        finally:
            ex.resp_headers = server_headers
        return self

    def start(self, ex: Exchange, version: str, headers: list[tuple[bytes, bytes]]) -> bool:
        resolved = self.resolved
        if not compressible(ex.version, version, ex.method, ex.status, headers, resolved.types):
            return False
        limits, algo = resolved.limits, self.algo.name
        memory = encoder_memory(algo, limits.window_bits, limits.mem_level)
        loop = ex.client.loop
        if not resolved.budget.allows(loop.now, memory):
            return False
        try:
            self.encoder = new_encoder(algo, limits.level, limits.window_bits, limits.mem_level)
        except (MemoryError, ValueError):  # zlib could not allocate its state: sent as it is
            return False
        self.memory = memory
        resolved.budget.memory += memory
        self.server_chunked = framing(headers)[0]
        self.loop = loop
        return True

    def feed(self, body: bytes) -> bytes:
        """The compressed bytes of one piece of body, flushed (never empty for a non-empty piece)."""
        budget = self.resolved.budget
        if budget.counts_rate:
            budget.rate.add(self.loop.now, len(body))
        return self.encoder.feed(body)

    def end(self, ex: Exchange) -> None:
        """The end of the compressed stream as a last piece of body, then the end of the response."""
        client = ex.client
        tail = self.encoder.finish() if self.encoder is not None else b""
        if tail:
            client.send_response_body(ex, tail)
        client.end_response(ex)
        ex.resp_chunked = self.server_chunked  # the response as the server framed it, for %B
        self.release()

    def release(self) -> None:
        """The stream is over (ended, or its server connection dropped): free zlib's state
        now and give its share of maxzlibmem back."""
        self.encoder = None
        if self.memory:
            self.resolved.budget.memory -= self.memory
            self.memory = 0


def encoded(message: HeaderList) -> list[tuple[bytes, bytes]]:
    """A rules-level message's header fields as the engine's byte tuples."""
    return [(n.encode("latin-1", "replace"), v.encode("latin-1", "replace")) for n, v in message.headers]


def editable_request(ex: Exchange) -> HeaderList:
    """The request as rules edit it, made on first use (`offload` then edits it like a rule would)."""
    if ex.request is None:
        from workers.http.policy import build_request  # the engine's one way to make it (rare: offload)

        return build_request(ex)
    return ex.request


# -- building the plans (after fork) ---------------------------------------------------------


def plan_for(frontend: FrontendRuntime, limits: CompressionLimits, budget: Budget) -> CompressionPlan | None:
    """The frontend's plan, None when neither it nor any backend it may use has a `compression` line."""
    own = settings_of(frontend.conf)
    by_backend: dict[int, Resolved] = {}
    backends: list[BackendRuntime] = list({id(b): b for b in frontend.backend_of.values()}.values())
    for backend in backends:
        theirs = settings_of(backend.conf)
        if own is None and theirs is None:
            continue
        resolved = Resolved(own, theirs, limits, budget)
        if resolved.algos:  # without an algorithm nothing is ever chosen
            by_backend[id(backend)] = resolved
    return CompressionPlan(by_backend) if by_backend else None


def attach_compression(runtime: Runtime) -> None:
    """Give each mode http frontend its compression plan (once per worker, after its HTTP plan)."""
    limits = limits_of(runtime.config.global_)
    budget = Budget(limits)  # one per worker: HAProxy's ceilings are per process
    for frontend in runtime.frontends.values():
        if frontend.plan is not None:
            frontend.plan.compression = plan_for(frontend, limits, budget)
