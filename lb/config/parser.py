"""Turn configuration files into a Config, collecting every diagnostic (master, cli).

The parser knows sections and dispatches directives to the handlers that
feature modules registered (lb.config.registry); it never raises on a bad
directive, so a single `lbctl check` reports every problem of a file, each
with its `file:line`, the way `haproxy -c` does.
"""

from __future__ import annotations

import copy
import os
from typing import Mapping

from lb.config import registry
from lb.config.lexer import Line, LexError, lex
from lb.config.model import (
    CAP_BACKEND,
    CAP_FRONTEND,
    PROXY_SECTIONS,
    SECTION_BACKEND,
    SECTION_CAPS,
    SECTION_DEFAULTS,
    SECTION_FRONTEND,
    SECTION_GLOBAL,
    SECTION_LISTEN,
    Config,
    Diagnostic,
    Location,
    Proxy,
)

# Sections HAProxy has and lb does not implement: their bodies are skipped.
UNSUPPORTED_SECTIONS = (
    "peers", "resolvers", "userlist", "cache", "program", "ring", "http-errors",
    "mailers", "crt-store", "traces", "log-forward", "fcgi-app", "dynamic-update",
)  # fmt: skip


class _State:
    """Where the parser is: the current section and the proxy being filled."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.section: str | None = None
        self.proxy: Proxy | None = None
        self.defaults = Proxy(name="", section=SECTION_DEFAULTS)
        self.named_defaults: dict[str, Proxy] = {}
        self.skipping = False

    def diag(self, severity: str, message: str, loc: Location) -> None:
        self.config.diagnostics.append(Diagnostic(severity, message, loc))


def parse_files(paths: list[str], env: Mapping[str, str] | None = None) -> Config:
    """Parse `paths` in order (like several `-f`) and run the post-parse steps."""
    import lb.config.keywords  # noqa: F401  (registers every keyword module)

    config = Config(files=list(paths))
    state = _State(config)
    for path in paths:
        try:
            with open(path, encoding="utf-8", errors="surrogateescape") as fh:
                text = fh.read()
        except OSError as exc:
            config.diagnostics.append(Diagnostic("ALERT", f"Could not open configuration file {path} : {exc.strerror}"))
            continue
        parse_text(state, text, path, env)
    if not config.alerts:
        for _order, _name, step in registry.REGISTRY.post_parse:
            step(config)
    return config


def parse_text(state: _State, text: str, filename: str, env: Mapping[str, str] | None = None) -> None:
    for item in lex(text, filename, os.environ if env is None else env):
        if isinstance(item, LexError):
            state.diag("ALERT", f"{item}", item.loc)  # type: ignore[attr-defined]
            continue
        if item.words[0] in (SECTION_GLOBAL, *PROXY_SECTIONS, *UNSUPPORTED_SECTIONS):
            _start_section(state, item)
        elif state.skipping:
            continue
        elif state.section is None:
            state.diag("ALERT", f"unknown keyword '{item.words[0]}' out of section.", item.loc)
        else:
            _dispatch(state, item)


def _start_section(state: _State, line: Line) -> None:
    kind, args, loc = line.words[0], line.words[1:], line.loc
    state.skipping = False
    state.proxy = None
    state.section = kind
    if kind in UNSUPPORTED_SECTIONS:
        state.diag("WARNING", f"'{kind}' sections are not supported by lb; this section is ignored.", loc)
        state.skipping = True
        return
    if kind == SECTION_GLOBAL:
        state.config.global_.loc = state.config.global_.loc or loc
        return
    name = args[0] if args else ""
    if kind != SECTION_DEFAULTS and not name:
        state.diag("ALERT", f"'{kind}' expects <name> as an argument.", loc)
        state.skipping = True
        return
    # A defaults section starts from scratch unless it names one with `from`.
    base: Proxy | None = None if kind == SECTION_DEFAULTS else state.defaults
    if len(args) >= 3 and args[1] == "from":
        base = state.named_defaults.get(args[2])
        if base is None:
            state.diag("ALERT", f"{kind} '{name}': unable to find defaults section '{args[2]}'.", loc)
            base = state.defaults
    proxy = _new_proxy(base, name, kind, loc)
    state.proxy = proxy
    if kind == SECTION_DEFAULTS:
        state.defaults = proxy
        if name:
            state.named_defaults[name] = proxy
        return
    _register_proxy(state, proxy)


def _new_proxy(base: Proxy | None, name: str, section: str, loc: Location) -> Proxy:
    """A new section starts as a copy of the defaults in effect (HAProxy semantics)."""
    if base is None:
        return Proxy(name=name, section=section, loc=loc)
    proxy = copy.deepcopy(base)
    proxy.name, proxy.section, proxy.loc = name, section, loc
    proxy.binds, proxy.servers, proxy.use_backends = [], [], []
    return proxy


def _register_proxy(state: _State, proxy: Proxy) -> None:
    caps = SECTION_CAPS[proxy.section]
    tables = []
    if caps & CAP_FRONTEND:
        tables.append((state.config.frontends, "frontend"))
    if caps & CAP_BACKEND:
        tables.append((state.config.backends, "backend"))
    for table, _side in tables:
        other = table.get(proxy.name)
        if other is not None:
            state.diag(
                "ALERT",
                f"{proxy.section} '{proxy.name}' has the same name as {other.section} '{other.name}' "
                f"declared at {other.loc}.",
                proxy.loc,  # type: ignore[arg-type]
            )
            return
    for table, _side in tables:
        table[proxy.name] = proxy


def _dispatch(state: _State, line: Line) -> None:
    words, loc = line.words, line.loc
    negated = False
    if words[0] in ("no", "default") and len(words) > 1 and words[1] == "option":
        negated, words = words[0] == "no", words[1:]
    section = state.section or ""
    kw, _width = registry.lookup(section, words)
    if kw is None:
        _unknown_keyword(state, words, loc)
        return
    if section not in kw.sections:
        _not_allowed(state, kw.name, loc)
        return
    ctx = registry.KwContext(state.config, loc, section, state.proxy, state.defaults, negated)
    try:
        kw.handler(ctx, words)
    except registry.KwError as exc:
        ctx.alert(str(exc))
        return
    except ValueError as exc:
        ctx.alert(f"'{kw.name}' : {exc}")
        return
    if not kw.applied:
        ctx.warn(f"'{kw.name}' is parsed but not applied by lb yet; it has no effect.")


def _unknown_keyword(state: _State, words: list[str], loc: Location) -> None:
    section = state.section or ""
    if registry.is_family(section, words[0]):
        candidates = registry.names_for_section(section, words[0])
        what = words[1] if len(words) > 1 else ""
        message = f"unknown '{words[0]}' argument '{what}' in '{section}' section"
        if words[0] == "option":
            message = f"unknown option '{what}'"
        hint = registry.suggest(what, candidates)
    else:
        message = f"unknown keyword '{words[0]}' in '{section}' section"
        hint = registry.suggest(words[0], registry.names_for_section(section))
    if hint:
        message += f"; did you mean '{hint}' maybe ?"
    state.diag("ALERT", message, loc)


def _not_allowed(state: _State, name: str, loc: Location) -> None:
    proxy = state.proxy
    if state.section == SECTION_DEFAULTS or proxy is None:
        state.diag("ALERT", f"'{name}' not allowed in '{state.section}' section.", loc)
        return
    side = "frontend" if state.section == SECTION_BACKEND else "backend"
    state.diag(
        "WARNING",
        f"'{name}' ignored because {state.section} '{proxy.name}' has no {side} capability.",
        loc,
    )


__all__ = ["parse_files", "UNSUPPORTED_SECTIONS", "SECTION_FRONTEND", "SECTION_LISTEN"]
