"""Per-backend health-check settings: plain dataclasses, standard library only (all processes).

The parser (master, cli) stores one CheckSettings per proxy in
`Proxy.areas["checks"]`; after the whole file is parsed, a post-parse step
(lb.checker.keywords) compiles the rules into `CheckSettings.program`, the
list of steps the checker runs for every server of the backend.

Rule kinds mirror HAProxy's tcpcheck rules (src/tcpcheck.c): connect, send
(raw or HTTP request), expect, and comment (folded into the next rule when
the program is compiled).  `index` is the rule's declaration order, which
gives the "step N" numbers of HAProxy's messages (step = index + 1; the
implicit first connect is step 0).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Union

from lb.config.model import Location

KIND_TCP = "tcp-check"  # option tcp-check
KIND_HTTP = "httpchk"  # option httpchk
KIND_PROTO = "protocol"  # option pgsql-check, mysql-check, redis-check, ldap-check, smtpchk (lb.checker.native)
BUFSIZE = 16384  # tune.bufsize: what a check reads at most


@dataclass
class ConnectRule:
    port: int | None = None
    addr: str | None = None  # host part of `addr <ip[:port]>`
    addr_port: int | None = None  # port written in `addr`, if any
    send_proxy: bool = False
    default: bool = False  # inherit the server's check settings (send-proxy ...)
    linger: bool = False
    implicit: bool = False  # inserted by lb, not written
    comment: str | None = None
    index: int = 0
    loc: Location | None = None


@dataclass
class SendRule:
    data: bytes = b""
    binary: bool = False
    comment: str | None = None
    index: int = 0
    loc: Location | None = None


@dataclass
class HttpSendRule:
    """An HTTP request: `http-check send ...` or the one of `option httpchk`."""

    method: str | None = None  # None: OPTIONS
    uri: str | None = None  # None: /
    version: str | None = None  # None: HTTP/1.0
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str | None = None
    from_option: bool = False
    comment: str | None = None
    index: int = 0
    loc: Location | None = None


@dataclass
class ExpectRule:
    """`tcp-check expect` / `http-check expect`.

    kind: tcp: "string" | "rstring" | "binary" | "rbinary";
          http: "status" | "rstatus" | "string" | "rstring" | "hdr".
    """

    kind: str = ""
    pattern: str = ""
    http: bool = False
    inverse: bool = False
    min_recv: int = -1
    data: bytes = b""  # string / binary needle
    regex: re.Pattern | None = None  # rstring / rbinary / rstatus / hdr value "reg"
    codes: list[tuple[int, int]] = field(default_factory=list)  # status ranges
    hdr: "HeaderMatch | None" = None
    ok_status: str | None = None  # L7OK / L7OKC / L6OK / L4OK
    error_status: str | None = None  # L7RSP / L7STS / L7OKC / L6RSP / L4CON
    tout_status: str | None = None  # L7TOUT / L6TOUT / L4TOUT
    on_success: str | None = None  # replaces the info text (kept literal: no log-format)
    on_error: str | None = None
    implicit: bool = False
    # Protocol checks (lb.checker.native) compute some texts from the bytes received, as HAProxy's
    # on-error/on-success log-formats over res.payload do, and have custom expects (MySQL, LDAP):
    custom: Any = None  # callable(rule, data, last_read) -> lb.checker.expect.Verdict
    error_text: Any = None  # callable(data) -> str: the info of a failure
    success_text: Any = None  # callable(data) -> str: the info of a success
    status_code: Any = None  # callable(data) -> int | None: the check's code (SMTP's reply code)
    head: int = -1  # position in the program where evaluation restarts when more data is needed
    comment: str | None = None
    index: int = 0
    loc: Location | None = None


@dataclass
class HeaderMatch:
    """`http-check expect hdr name <n> [-m meth] [value <v> [-m meth]]`."""

    name: str
    name_match: str = "str"  # str | beg | end | sub | reg
    name_regex: re.Pattern | None = None
    value: str | None = None  # None: the header only has to exist
    value_match: str = "str"
    value_regex: re.Pattern | None = None
    full: bool = False  # fhdr: do not split the value on commas


@dataclass
class CommentRule:
    text: str = ""
    index: int = 0
    loc: Location | None = None


Rule = Union[ConnectRule, SendRule, HttpSendRule, ExpectRule, CommentRule]


@dataclass
class CheckSettings:
    """What a backend (or defaults section) says about health checks."""

    kind: str | None = None  # None: plain TCP connect; KIND_TCP; KIND_HTTP
    kind_loc: Location | None = None
    tcp_rules: list[Rule] = field(default_factory=list)
    tcp_owner: str = ""  # which section wrote tcp_rules (a backend replaces inherited rules)
    http_rules: list[Rule] = field(default_factory=list)
    http_owner: str = ""
    http_option: HttpSendRule | None = None  # request given on the `option httpchk` line
    native_rules: list[Rule] = field(default_factory=list)  # KIND_PROTO: the protocol's rule sequence
    native_name: str = ""  # "pgsql-check", "mysql-check" ...
    program: list[Rule] = field(default_factory=list)  # compiled steps (post-parse)

    @property
    def is_http(self) -> bool:
        return self.kind == KIND_HTTP

    @property
    def is_tcp_check(self) -> bool:
        return self.kind == KIND_TCP
