"""What each mode http proxy needs per request, worked out once per worker (worker).

A Plan says which steps of lb.rules a proxy's requests and responses need
(rules, captures, cookies, unique ids, keyed balancing) and its connection
mode.  A frontend whose requests all go to one backend with nothing to
evaluate on the way takes the raw path (`direct_backend`): heads are
rebuilt straight from httptools' byte tuples and no Request or Response
object is made.  Built by `build_plans()` after fork, never changed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lb.compression.stream import attach_compression
from lb.config.model import Global, Proxy
from lb.rules import pipeline
from lb.rules.capture import cookie_capture_of
from lb.rules.model import AREA
from lb.rules.uniqueid import UniqueId, unique_id_of

if TYPE_CHECKING:
    from lb.compression.stream import CompressionPlan
    from workers.runtime import BackendRuntime, FrontendRuntime, Runtime, ServerRuntime

MODE_KAL, MODE_SCL, MODE_CLO = 0, 1, 2  # keep-alive < server-close < close (HAProxy)
KEYED_BALANCE = ("uri", "url_param", "hdr")  # algorithms that read the request


def proxy_mode(conf: Proxy) -> int:
    if conf.option("httpclose"):
        return MODE_CLO
    if conf.option("http-server-close"):
        return MODE_SCL
    return MODE_KAL


class Limits:
    """HAProxy's bounds on a message head: it must fit in tune.bufsize minus
    tune.maxrewrite, with at most tune.http.maxhdr fields (the end of the
    headers takes one of them)."""

    __slots__ = ("head", "headers")

    def __init__(self, glob: Global) -> None:
        self.head = glob.bufsize - glob.maxrewrite
        self.headers = glob.maxhdr - 1


class FrontendPlan:
    def __init__(self, frontend: FrontendRuntime, limits: Limits) -> None:
        conf = frontend.conf
        timeouts = conf.timeouts
        self.limits = limits
        self.mode = proxy_mode(conf)
        self.request_timeout = timeouts.http_request or timeouts.client
        self.keepalive_timeout = timeouts.http_keep_alive or timeouts.http_request or timeouts.client
        self.unique_id: UniqueId | None = unique_id_of(conf)
        self.needs_request = pipeline.frontend_needs_request(conf) or bool(self.unique_id and self.unique_id.header)
        self.frontend_tracks = frontend.tcp_rules is not None
        settings = conf.areas[AREA]
        self.needs_response = bool(settings.res_program or settings.res_captures or settings.cookie_capture
                                   or settings.after_program)  # fmt: skip
        self.after_response = bool(settings.after_program)  # http-after-response: lb's own replies too
        self.static_backend = None if self.needs_request else frontend.static_backend
        self.direct_backend = self.raw_path_backend(conf)
        self.compression: CompressionPlan | None = None  # set by build_plans

    def raw_path_backend(self, conf: Proxy) -> BackendRuntime | None:
        """The backend every request goes to when the request rules would do nothing
        but name it (no rule, no unique id, no capture, no keyed balance); else None."""
        backend = self.static_backend
        if backend is None or backend.plan is None or backend.plan.needs_request or self.unique_id is not None:
            return None
        if self.frontend_tracks:  # tcp-request rules or stick tables: the request is looked at
            return None
        return None if cookie_capture_of(conf, backend.conf) is not None else backend


class BackendPlan:
    def __init__(self, backend: BackendRuntime) -> None:
        conf = backend.conf
        self.mode = proxy_mode(conf)
        tcp = backend.tcp_rules  # use-server, stick rules: chosen with the request's rules
        self.needs_request = pipeline.backend_needs_request(conf) or conf.balance.algorithm in KEYED_BALANCE \
            or tcp is not None  # fmt: skip
        settings = conf.areas[AREA]
        self.needs_response = bool(settings.res_program or settings.cookie or settings.cookie_capture
                                   or settings.after_program
                                   or (tcp is not None and tcp.store_response_rules))  # fmt: skip
        self.after_response = bool(settings.after_program)
        self.by_conf: dict[int, ServerRuntime] = {id(server.conf): server for server in backend.servers}

    def server_of(self, conf: Any) -> ServerRuntime | None:
        return self.by_conf.get(id(conf))


def build_plans(runtime: Runtime) -> None:
    """Called once per worker after fork."""
    limits = Limits(runtime.config.global_)
    for backend in runtime.backends.values():
        backend.plan = BackendPlan(backend) if AREA in backend.conf.areas else None
    for frontend in runtime.frontends.values():
        frontend.plan = FrontendPlan(frontend, limits) if frontend.is_http else None
    attach_compression(runtime)
