"""Per-proxy HTTP settings, stored in `Proxy.areas["http"]` (all processes; standard library only).

Keyword handlers of lb.rules fill an HttpSettings per proxy; the post-parse
step (lb.rules.keywords) finishes it; workers read it after fork.  Compiled
objects (ACLs, rules, formats) are held as `Any` so that this module keeps
importing nothing from the project.

A proxy created from a defaults section starts as a deep copy of it, so
it inherits the defaults' rules, cookie and forwardfor settings; ACLs are
not inherited (HAProxy: they only serve the defaults' own rules) and the
settings are re-owned on first use (`owner`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

AREA = "http"


@dataclass
class ForwardFor:
    """`option forwardfor [except NET] [header NAME] [if-none]`."""

    header: str = "X-Forwarded-For"
    except_net: Any = None  # lb.rules.addr.Network
    if_none: bool = False


@dataclass
class CookieConfig:
    """`cookie NAME [rewrite|insert|prefix] [indirect] [nocache] ...` (cfg §4.2)."""

    name: str
    mode: str | None = None  # "insert" | "rewrite" | "prefix" | None (passive)
    indirect: bool = False
    nocache: bool = False
    postonly: bool = False
    preserve: bool = False
    httponly: bool = False
    secure: bool = False
    dynamic: bool = False
    domains: list[str] = field(default_factory=list)
    maxidle: int = 0  # seconds, 0: not set
    maxlife: int = 0
    attrs: list[str] = field(default_factory=list)
    attributes: str = ""  # "; domain=..; HttpOnly; Secure; attr": precomputed for Set-Cookie


@dataclass
class CaptureSlot:
    """One `{%hr}`/`{%hs}` slot: a `capture ... header` or an `http-request capture`."""

    header: str | None  # header name; None for a sample capture
    length: int


@dataclass
class HttpSettings:
    owner: tuple[str, str, Any]  # (section, name, loc) of the proxy these settings belong to
    parent: tuple[str, str, Any] | None = None  # the defaults section it inherited rules from, if any
    acls: dict[str, Any] = field(default_factory=dict)  # name -> lb.rules.acl.Acl
    acl_locs: dict[str, Any] = field(default_factory=dict)  # name -> Location of its first line
    request_rules: list[Any] = field(default_factory=list)  # lb.rules.http_rules.Rule, defaults' first
    response_rules: list[Any] = field(default_factory=list)
    after_response_rules: list[Any] = field(default_factory=list)  # http-after-response (lb.rules.after_response)
    redirect_rules: list[Any] = field(default_factory=list)  # standalone `redirect` lines
    forwardfor: ForwardFor | None = None
    cookie: CookieConfig | None = None
    cookie_loc: Any = None
    req_captures: list[CaptureSlot] = field(default_factory=list)
    cookie_capture: tuple[str, int] | None = None  # `capture cookie <name> len <n>`
    res_captures: list[CaptureSlot] = field(default_factory=list)
    error_replies: dict[int, Any] = field(default_factory=dict)  # code -> lb.rules.reply.Reply
    # Filled by the post-parse step for the worker's hot path:
    req_program: tuple[Any, ...] = ()  # ((match | None, action), ...) http-request then redirect rules
    res_program: tuple[Any, ...] = ()
    after_program: tuple[Any, ...] = ()  # http-after-response rules, run on every response sent
    switching: tuple[Any, ...] = field(default=(), repr=False)  # frontends: ((match, backend, name format), ...)
    default_backend: Any = field(default=None, repr=False)
    backends: dict[str, Any] = field(default_factory=dict, repr=False)  # for dynamic use_backend names
    servers_by_cookie: tuple[Any, ...] = field(default=(), repr=False)  # cookie backends: servers in order


def settings_for(proxy: Any) -> HttpSettings:
    """The HttpSettings of `proxy`, created on first use.  Settings copied
    from a defaults section are re-owned: the defaults' rules stay (they run
    first), its ACLs are dropped."""
    key = (proxy.section, proxy.name, proxy.loc)
    settings = proxy.areas.get(AREA)
    if settings is None:
        settings = HttpSettings(owner=key)
        proxy.areas[AREA] = settings
    elif settings.owner != key:
        if settings.request_rules or settings.response_rules or settings.after_response_rules:
            settings.parent = settings.owner
        settings.owner = key
        settings.acls, settings.acl_locs = {}, {}
        settings.req_captures, settings.res_captures = [], []
    return settings
