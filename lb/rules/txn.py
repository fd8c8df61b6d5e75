"""The per-connection and per-request state rules and ACLs read (worker).

The engine creates one `ConnFacts` per accepted client connection, in
mode tcp and mode http alike (facts that do not change between keep-alive
requests: addresses, listener, TLS), and one `Txn` per HTTP request or per
TCP stream whose rules need one.  ACLs, rule values and actions only ever
receive a Txn; in mode tcp its `request` is None, so HTTP fetches find no
sample there and layer-4 fetches (`src`, `dst`, `so_id`, variables) work
the same in both modes.

Stick counters (lb.sticktables.counters) tracked by `tcp-request connection|session`
rules belong to the connection (`ConnFacts.stkctr`), those tracked by content
and HTTP rules to the request or TCP stream (`Txn.stkctr`).  In mode tcp,
`Txn.content` holds the first bytes while `tcp-request content` rules wait.

Variables (`set-var`, `var()`) live where their scope says: `txn.*`,
`req.*` and `res.*` in `Txn.vars`, `sess.*` in `ConnFacts.vars`, `proc.*` in
this worker's PROC_VARS (HAProxy shares proc variables between threads of
one process; lb's workers are processes, so each has its own).
"""

from __future__ import annotations

from typing import Any

from lb.rules.addr import Ip, parse_ip
from lb.rules.message import Request, Response

PROC_VARS: dict[str, Any] = {}


class ConnFacts:
    """Facts of one client connection, filled by the engine after accept
    (and after the TLS handshake for `ssl`, `sni`, `alpn`)."""

    __slots__ = ("client_ip", "client_port", "dst_ip", "dst_port", "ssl", "sni", "alpn", "vars",
                 "requests", "listener_id", "stkctr", "expect_proxy", "pp_tlvs", "_src", "_dst")  # fmt: skip

    def __init__(self, client_ip: str = "", client_port: int = 0, dst_ip: str = "", dst_port: int = 0,
                 ssl: bool = False, sni: str | None = None, alpn: str | None = None,
                 listener_id: int = 0) -> None:  # fmt: skip
        self.client_ip = client_ip  # %ci, src: from the PROXY header when the bind has accept-proxy
        self.client_port = client_port  # %cp, src_port
        self.dst_ip = dst_ip  # %fi, dst
        self.dst_port = dst_port  # %fp, dst_port
        self.ssl = ssl  # ssl_fc: TLS terminated by lb on this connection
        self.sni = sni  # ssl_fc_sni
        self.alpn = alpn  # ssl_fc_alpn
        self.vars: dict[str, Any] | None = None  # sess.* variables
        self.requests = 0  # requests seen so far on this connection (the engine counts)
        self.listener_id = listener_id  # so_id: the `bind ... id` of the listener that accepted it
        self.stkctr: list[Any] | None = None  # sc0..sc2 tracked by tcp-request connection/session rules
        self.expect_proxy = False  # `tcp-request connection expect-proxy layer4` matched
        self.pp_tlvs: dict[int, bytes] | None = None  # TLVs of a PROXY v2 header (lb.rules.pptlv.extract_tlvs)
        self._src: Ip | None = None
        self._dst: Ip | None = None

    @property
    def src(self) -> Ip | None:
        """The client address parsed once, for IP matching."""
        if self._src is None and self.client_ip:
            self._src = parse_ip(self.client_ip)
        return self._src

    @property
    def dst(self) -> Ip | None:
        if self._dst is None and self.dst_ip:
            self._dst = parse_ip(self.dst_ip)
        return self._dst


class Content:
    """The bytes a mode tcp stream has received so far, for `tcp-request content`
    rules and the payload fetches (lb.rules.fetches_payload).  `final`: no more
    will be waited for (inspect-delay over, buffer full, client closed);
    `missing`: set by a fetch that needed more bytes than there are."""

    __slots__ = ("data", "final", "missing")

    def __init__(self, data: bytes = b"", final: bool = False) -> None:
        self.data, self.final, self.missing = data, final, False


class Txn:
    """One request/response exchange.

    `frontend` is the Proxy that accepted the connection; `backend` is set
    by backend selection (lb.rules.pipeline) and `server` by the engine once
    it has picked one.  `req_captures` / `res_captures` are the values for
    the log's `{%hr}` / `{%hs}` (None when the frontend declares none).
    """

    __slots__ = ("facts", "request", "response", "vars", "frontend", "backend", "server", "req_captures",
                 "res_captures", "unique_id", "cookie", "status", "content", "stkctr", "stick")  # fmt: skip

    def __init__(self, facts: ConnFacts, request: Request | None, frontend: Any = None) -> None:
        self.facts = facts
        self.request = request
        self.response: Response | None = None
        self.vars: dict[str, Any] | None = None  # txn.*, req.*, res.* variables
        self.frontend = frontend
        self.backend: Any = None
        self.server: Any = None
        self.req_captures: list[str] | None = None
        self.res_captures: list[str] | None = None
        self.unique_id = ""  # %ID (lb has no unique-id-format yet: empty, as HAProxy without one)
        self.cookie: Any = None  # lb.rules.cookie.CookieTxn when the backend has `cookie`
        self.status = -1  # status of a reply generated by a rule (deny/return/redirect)
        self.content: Content | None = None  # mode tcp: the first bytes, while tcp-request content rules wait
        self.stkctr: list[Any] | None = None  # sc0..sc2 tracked by content, http-request/response rules
        self.stick: list[Any] | None = None  # (table, key) of `stick store-*` rules, stored once a server is known

    # -- variables -------------------------------------------------------------

    def get_var(self, name: str) -> Any:
        """Value of `scope.name`, or None when unset."""
        store = self._store(name, create=False)
        return None if store is None else store.get(name)

    def set_var(self, name: str, value: Any) -> None:
        store = self._store(name, create=True)
        assert store is not None
        store[name] = value

    def unset_var(self, name: str) -> None:
        store = self._store(name, create=False)
        if store is not None:
            store.pop(name, None)

    def _store(self, name: str, create: bool) -> dict[str, Any] | None:
        if name.startswith("sess."):
            if self.facts.vars is None and create:
                self.facts.vars = {}
            return self.facts.vars
        if name.startswith("proc."):
            return PROC_VARS
        if self.vars is None and create:
            self.vars = {}
        return self.vars
