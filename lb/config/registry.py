"""Keyword registry: config keywords are registered next to the code that uses them (master, cli).

Modeled on HAProxy's keyword tables (`cfg_kws`, `srv_kws`): a module that
implements a feature declares its keywords with a decorator, and the parser
only dispatches.  The same tables give "did you mean" hints, the warnings for
keywords that are parsed but not applied yet, and `lbctl keywords`.

Handlers run in the process that parses (master or cli), never in workers.
A handler reports a problem on its own line by raising `KwError`; it may
also call `ctx.warn()` / `ctx.alert()` for problems it wants to report and
continue.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable

from lb.config.model import (
    PROXY_SECTIONS,
    SECTION_GLOBAL,
    Config,
    Diagnostic,
    Location,
    Proxy,
    Server,
)


class KwError(Exception):
    """A directive is wrong: reported as an ALERT at the directive's file:line."""


@dataclass
class KwContext:
    """What a keyword handler may look at and change."""

    config: Config
    loc: Location
    section: str
    proxy: Proxy | None = None  # the proxy being parsed (None in global)
    defaults: Proxy | None = None  # the defaults section in effect
    negated: bool = False  # the line started with `no`
    words: list[str] = field(default_factory=list)  # the directive as written (after `no`)

    def alert(self, message: str, loc: Location | None = None) -> None:
        self.config.diagnostics.append(Diagnostic("ALERT", message, loc or self.loc))

    def warn(self, message: str, loc: Location | None = None) -> None:
        self.config.diagnostics.append(Diagnostic("WARNING", message, loc or self.loc))


Handler = Callable[[KwContext, list[str]], None]
ServerHandler = Callable[[KwContext, Server, list[str]], None]
PostParse = Callable[[Config], None]
BindHandler = Callable[[dict, list[str]], None]


@dataclass(frozen=True)
class Keyword:
    name: str  # may hold two words: "option httplog", "stats socket"
    handler: Handler
    sections: frozenset[str]
    applied: bool = True  # False: parsed and stored, but lb does not act on it yet
    doc: str = ""


@dataclass(frozen=True)
class ServerKeyword:
    name: str
    handler: ServerHandler
    nargs: int = 0
    applied: bool = True
    doc: str = ""
    default_server: bool = True  # also allowed on `default-server`


@dataclass(frozen=True)
class BindKeyword:
    name: str
    handler: BindHandler  # (options dict of the Bind, its nargs words)
    nargs: int = 0
    doc: str = ""


def scope_of(section: str) -> str:
    """Keyword tables are per scope: the global section, proxy sections, or a registered section's own."""
    if section in REGISTRY.sections:
        return section
    return "global" if section == SECTION_GLOBAL else "proxy"


@dataclass
class Registry:
    keywords: dict[tuple[str, str], Keyword] = field(default_factory=dict)  # (scope, name)
    server_keywords: dict[str, ServerKeyword] = field(default_factory=dict)
    bind_keywords: dict[str, BindKeyword] = field(default_factory=dict)
    post_parse: list[tuple[int, str, PostParse]] = field(default_factory=list)
    sections: dict[str, Handler] = field(default_factory=dict)  # other sections than global and proxies


REGISTRY = Registry()
# The directive being parsed, while its handler runs: what a name written in
# it (a stick table in a fetch argument) is resolved against after parsing.
CURRENT: KwContext | None = None


def keyword(
    name: str,
    sections: tuple[str, ...] = PROXY_SECTIONS,
    *,
    applied: bool = True,
    doc: str = "",
) -> Callable[[Handler], Handler]:
    """Register `name` for `sections`; the handler gets the whole word list."""

    def register(handler: Handler) -> Handler:
        key = (scope_of(sections[0]), name)
        if key in REGISTRY.keywords:
            raise RuntimeError(f"config keyword {name!r} registered twice")
        REGISTRY.keywords[key] = Keyword(name, handler, frozenset(sections), applied, doc)
        return handler

    return register


def global_keyword(name: str, *, applied: bool = True, doc: str = "") -> Callable[[Handler], Handler]:
    return keyword(name, (SECTION_GLOBAL,), applied=applied, doc=doc)


def server_keyword(
    name: str, nargs: int = 0, *, applied: bool = True, doc: str = "", default_server: bool = True
) -> Callable[[ServerHandler], ServerHandler]:
    """Register a keyword of `server` / `default-server` lines taking `nargs` words."""

    def register(handler: ServerHandler) -> ServerHandler:
        if name in REGISTRY.server_keywords:
            raise RuntimeError(f"server keyword {name!r} registered twice")
        REGISTRY.server_keywords[name] = ServerKeyword(name, handler, nargs, applied, doc, default_server)
        return handler

    return register


def bind_keyword(name: str, nargs: int = 0, *, doc: str = "") -> Callable[[BindHandler], BindHandler]:
    """Register an option of `bind` lines taking `nargs` words."""

    def register(handler: BindHandler) -> BindHandler:
        if name in REGISTRY.bind_keywords:
            raise RuntimeError(f"bind keyword {name!r} registered twice")
        REGISTRY.bind_keywords[name] = BindKeyword(name, handler, nargs, doc)
        return handler

    return register


def section(name: str) -> Callable[[Handler], Handler]:
    """Register a section kind (`http-errors`): the handler gets the header line's words
    with a context without proxy; the section's keywords register with sections=(name,)."""

    def register(handler: Handler) -> Handler:
        if name in REGISTRY.sections:
            raise RuntimeError(f"config section {name!r} registered twice")
        REGISTRY.sections[name] = handler
        return handler

    return register


def post_parse(order: int = 50) -> Callable[[PostParse], PostParse]:
    """Register a check or resolution step run once the whole file is parsed.

    Lower `order` runs first: 10 resolves names, 50 validates, 90 warns.
    """

    def register(fn: PostParse) -> PostParse:
        REGISTRY.post_parse.append((order, fn.__module__ + "." + fn.__qualname__, fn))
        REGISTRY.post_parse.sort(key=lambda item: (item[0], item[1]))
        return fn

    return register


def lookup(section: str, words: list[str]) -> tuple[Keyword | None, int]:
    """The keyword a line of `section` starts with and how many words its name takes."""
    scope = scope_of(section)
    if len(words) > 1:
        two = REGISTRY.keywords.get((scope, f"{words[0]} {words[1]}"))
        if two is not None:
            return two, 2
    return REGISTRY.keywords.get((scope, words[0])), 1


def is_family(section: str, word: str) -> bool:
    """True when `word` only exists as the first word of longer keywords (`option`)."""
    scope = scope_of(section)
    return any(s == scope and name.startswith(word + " ") for s, name in REGISTRY.keywords)


def suggest(word: str, candidates: list[str]) -> str | None:
    """HAProxy-style hint: the closest known name, if any is close enough."""
    matches = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return matches[0] if matches else None


def names_for_section(section: str, family: str | None = None) -> list[str]:
    """Keyword names valid in `section`; with `family`, the second words of that family."""
    names = []
    for (scope, _name), kw in REGISTRY.keywords.items():
        if scope != scope_of(section):
            continue
        if family is None:
            names.append(kw.name.split(" ", 1)[0])
        elif kw.name.startswith(family + " "):
            names.append(kw.name.split(" ", 1)[1])
    return sorted(set(names))
