"""Turn configuration files into a Config, collecting every diagnostic (master, cli).

The parser knows sections and dispatches directives to the handlers that
feature modules registered (lb.config.registry); it never raises on a bad
directive, so a single `lbctl check` reports every problem of a file, each
with its `file:line`, the way `haproxy -c` does.

`config.diagnostics` ends up as the stderr log of `haproxy -c`, in order:
each file's parse problems followed by `Error(s) found in configuration
file : <file>` when it had alerts, then the problems found by the
post-parse steps, then `Fatal errors found in configuration.`.  Unlike
HAProxy, the post-parse steps run even after parse errors, so that one run
reports everything (a post-parse step must therefore accept a model where
the lines that failed are simply missing).
"""

from __future__ import annotations

import copy
import os
import re
from typing import Mapping

from lb.config import registry
from lb.config.cfgcond import BLOCK_DIRECTIVES, Blocks, message_directive
from lb.config.files import expand_paths
from lb.config.lexer import LexError, Line, lex_lines
from lb.config.model import (
    CAP_BACKEND,
    CAP_FRONTEND,
    LOC_HIDDEN,
    LOC_PARSING_TIGHT,
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
    cap_str,
)
from lb.config.reader import ConfigFile, LineReader

# Sections HAProxy has and lb does not implement: their bodies are skipped.
UNSUPPORTED_SECTIONS = (
    "peers", "resolvers", "userlist", "cache", "program", "ring", "http-errors",
    "mailers", "crt-store", "traces", "log-forward", "fcgi-app", "dynamic-update",
)  # fmt: skip
# Keywords that accept the `no` / `default` modifiers (HAProxy's list).
MODIFIABLE = ("option", "log", "busy-polling", "set-dumpable", "strict-limits", "insecure-fork-wanted",
              "numa-cpu-mapping")  # fmt: skip
MAX_FATAL_LINES = 50  # HAProxy stops reading a file after 50 lines in error
_NAME_RE = re.compile(r"[^A-Za-z0-9_.:-]")  # HAProxy's invalid_char()


class _State:
    """Where the parser is: the current section and the proxy being filled."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.section: str | None = None
        self.proxy: Proxy | None = None
        self.defaults = Proxy(name="", section=SECTION_DEFAULTS)
        self.named_defaults: dict[str, Proxy] = {}
        self.skipping = False
        self.pseudo: dict[str, str] = {}  # ${.FILE} ${.LINE} ${.SECTION}

    def diag(self, severity: str, message: str, loc: Location | None, form: str = "parsing") -> None:
        self.config.diagnostics.append(Diagnostic(severity, message, loc, form))


def parse_files(paths: list[str], env: Mapping[str, str] | None = None) -> Config:
    """Parse `paths` in order (like several `-f`; a directory stands for its
    `*.cfg` files) and run the post-parse steps."""
    import lb.config.keywords  # noqa: F401  (registers every keyword module)

    files, unreadable = expand_paths(paths)
    config = Config(files=files)
    state = _State(config)
    for message in unreadable:
        state.diag("ALERT", message, None, LOC_HIDDEN)
    for path in files:
        try:
            source = ConfigFile(path)
        except OSError as exc:
            state.diag("ALERT", f"Could not open configuration file {path} : {exc.strerror}", None, LOC_HIDDEN)
            continue
        before = len(config.alerts)
        with source:
            parse_lines(state, source.reader, path, env)
        if len(config.alerts) > before:
            state.diag("ALERT", f"Error(s) found in configuration file : {path}", None, LOC_HIDDEN)
    for _order, name, step in registry.REGISTRY.post_parse:
        _run_step(config, name, step)
    if config.alerts:
        state.diag("ALERT", "Fatal errors found in configuration.", None, LOC_HIDDEN)
    return config


def _run_step(config: Config, name: str, step: registry.PostParse) -> None:
    """Run a post-parse step.  After parse errors the model lacks what failed;
    a step tripping over that must not hide the real errors behind a
    traceback, so it becomes one more alert.  On a clean parse, a crash is a
    bug in lb and propagates."""
    had_alerts = bool(config.alerts)
    try:
        step(config)
    except Exception as exc:  # noqa: BLE001  (see docstring)
        if not had_alerts:
            raise
        config.diagnostics.append(Diagnostic(
            "ALERT", f"post-parse check '{name}' could not run on this configuration ({exc!r}).", None, LOC_HIDDEN
        ))  # fmt: skip


def parse_text(state: _State, text: str, filename: str, env: Mapping[str, str] | None = None) -> None:
    """Parse `text` as the content of file `filename` into `state.config`."""
    parse_lines(state, LineReader.of_text(text), filename, env)


def parse_lines(state: _State, reader: LineReader, filename: str, env: Mapping[str, str] | None = None) -> None:
    """Parse one file's lines into `state.config`; stops early only where HAProxy does
    (and where lb.config.reader's bounds end the file)."""
    env = os.environ if env is None else env
    blocks = Blocks(env)
    fatal_lines = last_fatal = 0
    for item in lex_lines(reader, filename, env, state.pseudo):
        if fatal_lines >= MAX_FATAL_LINES:
            break
        before = len(state.config.alerts)
        if isinstance(item, LexError):
            state.diag("ALERT", str(item), item.loc, LOC_PARSING_TIGHT)
        elif item.words[0] in BLOCK_DIRECTIVES:
            state.config.diagnostics.extend(blocks.handle(item.words, item.loc))
        elif not blocks.active:
            continue
        elif item.words[0].startswith("."):
            diagnostic = message_directive(item.words, item.loc)
            state.config.diagnostics.append(diagnostic)
            if item.words[0] == ".alert" and len(item.words) <= 2:
                return  # `.alert` stops the parsing, as in HAProxy
        else:
            parse_line(state, item)
        if len(state.config.alerts) > before:
            fatal_lines, last_fatal = fatal_lines + 1, item.loc.line  # type: ignore[union-attr]
    if fatal_lines >= MAX_FATAL_LINES and reader.number > last_fatal:
        # HAProxy stops when it reads the line after the 50th in error, whatever that line holds
        state.diag("ALERT", f"too many fatal errors ({fatal_lines}), stopping now.", Location(filename, last_fatal + 1),
                   LOC_PARSING_TIGHT)  # fmt: skip
        return
    state.config.diagnostics.extend(blocks.finish(Location(filename, reader.number)))


def parse_line(state: _State, line: Line) -> None:
    """One directive: a section start, or a keyword of the current section."""
    if line.words[0] in (SECTION_GLOBAL, *PROXY_SECTIONS, *UNSUPPORTED_SECTIONS, *registry.REGISTRY.sections):
        _start_section(state, line)
    elif state.skipping:
        return
    elif state.section is None:
        state.diag("ALERT", f"unknown keyword '{line.words[0]}' out of section.", line.loc, LOC_PARSING_TIGHT)
    else:
        _dispatch(state, line)


def _start_section(state: _State, line: Line) -> None:
    kind, args, loc = line.words[0], line.words[1:], line.loc
    state.skipping = False
    state.proxy = None
    state.section = kind
    state.pseudo[".SECTION"] = args[0] if args else kind
    if kind in registry.REGISTRY.sections:  # a section a feature module registered (http-errors ...)
        registry.REGISTRY.sections[kind](registry.KwContext(state.config, loc, kind), line.words)
        return
    if kind in UNSUPPORTED_SECTIONS:
        state.diag("WARNING", f"'{kind}' sections are not supported by lb; this section is ignored.", loc)
        state.skipping = True
        return
    if kind == SECTION_GLOBAL:
        state.config.global_.loc = state.config.global_.loc or loc
        return
    name = args[0] if args else ""
    if not _check_section_header(state, kind, args, loc):
        return
    proxy = _new_proxy(_base_defaults(state, kind, args, loc), name, kind, loc)
    state.proxy = proxy
    if kind == SECTION_DEFAULTS:
        state.defaults = proxy
        if name:
            state.named_defaults[name] = proxy
        return
    _register_proxy(state, proxy)


def _check_section_header(state: _State, kind: str, args: list[str], loc: Location) -> bool:
    """HAProxy's checks of `frontend <name> [from <defaults>]`; False skips the section."""
    if kind != SECTION_DEFAULTS and not args:
        state.diag("ALERT", f"'{kind}' expects an <id> argument", loc)
        state.skipping = True
        return False
    bad = _NAME_RE.search(args[0]) if args else None
    if bad:
        state.diag("ALERT", f"character '{bad.group(0)}' is not permitted in '{kind}' name '{args[0]}'.", loc)
    if len(args) >= 2 and (len(args) < 3 or args[1] != "from"):
        if SECTION_CAPS[kind] & CAP_FRONTEND and kind != SECTION_DEFAULTS:
            state.diag("ALERT", "please use the 'bind' keyword for listening addresses.", loc)
        else:
            state.diag("ALERT", f"'{kind}' cannot handle unexpected argument '{args[1]}'.", loc)
        state.skipping = True
        return False
    return True


def _base_defaults(state: _State, kind: str, args: list[str], loc: Location) -> Proxy | None:
    """The defaults a new section starts from (None: a defaults section starts empty)."""
    base: Proxy | None = None if kind == SECTION_DEFAULTS else state.defaults
    if len(args) >= 3 and args[1] == "from":
        base = state.named_defaults.get(args[2])
        if base is None:
            state.diag("ALERT", f"{kind} '{args[0]}': unable to find defaults section '{args[2]}'.", loc)
            base = state.defaults
    return base


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
        tables.append(state.config.frontends)
    if caps & CAP_BACKEND:
        tables.append(state.config.backends)
    for table in tables:
        other = table.get(proxy.name)
        if other is not None:
            state.diag(
                "ALERT",
                f"Parsing [{proxy.loc}]: {cap_str(proxy.section)} '{proxy.name}' has the same name as "
                f"{cap_str(other.section)} '{other.name}' declared at {other.loc}.",
                proxy.loc,
                LOC_HIDDEN,
            )
            return
    for table in tables:
        table[proxy.name] = proxy


def _dispatch(state: _State, line: Line) -> None:
    words, loc = line.words, line.loc
    negated = False
    if words[0] in ("no", "default") and len(words) > 1:
        if words[1] not in MODIFIABLE:
            state.diag("ALERT", "negation/default currently supported only for options, log, busy-polling, "
                       "set-dumpable, strict-limits, insecure-fork-wanted and numa-cpu-mapping.",
                       loc, LOC_PARSING_TIGHT)  # fmt: skip
            return
        negated, words = words[0] == "no", words[1:]
    section = state.section or ""
    kw, _width = registry.lookup(section, words)
    if kw is None:
        _unknown_keyword(state, words, loc)
        return
    if section not in kw.sections:
        _not_allowed(state, kw.name, loc)
        return
    ctx = registry.KwContext(state.config, loc, section, state.proxy, state.defaults, negated, words)
    registry.CURRENT = ctx
    try:
        kw.handler(ctx, words)
    except registry.KwError as exc:
        ctx.alert(str(exc))
        return
    except ValueError as exc:  # from a value parser: name the keyword unless the message does
        text = str(exc)
        ctx.alert(text if text.startswith(f"'{kw.name}'") else f"'{kw.name}' : {text}")
        return
    finally:
        registry.CURRENT = None
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
    elif words[0] == "option":
        message += "."  # HAProxy ends this one with a period when it has no hint
    state.diag("ALERT", message, loc)


def _not_allowed(state: _State, name: str, loc: Location) -> None:
    proxy = state.proxy
    if state.section == SECTION_DEFAULTS or proxy is None:
        state.diag("ALERT", f"'{name}' not allowed in '{state.section}' section.", loc)
        return
    side = "frontend" if state.section == SECTION_BACKEND else "backend"
    state.diag(
        "WARNING",
        f"'{name}' ignored because {cap_str(proxy.section)} '{proxy.name}' has no {side} capability.",
        loc,
    )


__all__ = ["parse_files", "parse_text", "parse_lines", "parse_line", "UNSUPPORTED_SECTIONS", "SECTION_FRONTEND",
           "SECTION_LISTEN"]  # fmt: skip
