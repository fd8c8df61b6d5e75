"""Whole-configuration checks run after parsing (master, cli).

The counterpart of HAProxy's check_config_validity(): each proxy is checked
in declaration order, with HAProxy's texts, and the backends a frontend
names are resolved to Proxy objects stored in `frontend.areas["routing"]`
(see lb.config.routing), so workers never look a backend up by name.

Decisions where HAProxy leaves a choice:
- a frontend with neither default_backend nor use_backend is accepted
  silently, as HAProxy does (TCP connections are closed, HTTP gets a 503);
- a backend without servers is accepted, as HAProxy does;
- a configuration without any enabled listener has no error, but lb cannot
  start it: `lbctl check` says so on stdout and exits 2, like `haproxy -c`
  ("Configuration file has no error but will not start (no listener)");
  see has_listener();
- two frontends binding the same address get a WARNING (HAProxy is silent:
  both bind with SO_REUSEPORT and the kernel splits the connections
  between them, which is almost never what was meant).  lb serves it the
  same way (lb.listeners).
"""

from __future__ import annotations

from lb.config.model import LOC_BARE, LOC_HIDDEN, MODE_HTTP, MODE_TCP, Bind, Config, Diagnostic, Proxy, cap_str
from lb.config.registry import post_parse
from lb.config.routing import AREA, Routing, SwitchingRule

MISSING_TIMEOUTS = (
    "missing timeouts for {kind} '{name}'.\n"
    "   | While not properly invalid, you will certainly encounter various problems\n"
    "   | with such a configuration. To fix this, please ensure that all following\n"
    "   | timeouts are set to a non-zero value: 'client', 'connect', 'server'."
)


def _alert(config: Config, message: str, proxy: Proxy) -> None:
    # Post-parse messages carry no "parsing [file:line]" in HAProxy; the
    # location is kept only to say which file the problem belongs to.
    config.diagnostics.append(Diagnostic("ALERT", message, proxy.loc, LOC_HIDDEN))


def _warn(config: Config, message: str, proxy: Proxy) -> None:
    config.diagnostics.append(Diagnostic("WARNING", message, proxy.loc, LOC_HIDDEN))


def declared_order(config: Config) -> list[Proxy]:
    """Frontends, backends and listens in the order the files declare them."""
    files = {name: n for n, name in enumerate(config.files)}

    def key(proxy: Proxy) -> tuple[int, int]:
        loc = proxy.loc
        return (files.get(loc.file, len(files)), loc.line) if loc else (len(files), 0)

    return sorted(config.proxies(), key=key)


@post_parse(40)
def check_proxies(config: Config) -> None:
    """Per proxy, in declaration order: listeners, routing, timeouts."""
    for proxy in declared_order(config):
        if proxy.disabled:
            continue  # HAProxy does not check disabled proxies
        if proxy.is_frontend and not proxy.binds:
            _warn(config, f"{cap_str(proxy.section)} '{proxy.name}' has no 'bind' directive. "
                  "Please declare it as a backend if this was intended.", proxy)  # fmt: skip
        if proxy.is_frontend:
            proxy.areas[AREA] = resolve_routing(config, proxy)
        if missing_timeouts(proxy):
            _warn(config, MISSING_TIMEOUTS.format(kind=cap_str(proxy.section), name=proxy.name), proxy)


@post_parse(41)
def check_shared_addresses(config: Config) -> None:
    """One address bound by two enabled frontends: a warning, on the later bind."""
    first: dict[tuple[int, str, int], tuple[Proxy, Bind]] = {}
    for proxy in declared_order(config):
        if not proxy.is_frontend or proxy.disabled:
            continue
        for bind in proxy.binds:
            if "fd" in bind.options:
                continue
            owner, earlier = first.setdefault(bind.key, (proxy, bind))
            if owner is not proxy:
                where = f" at [{earlier.loc}]" if earlier.loc else ""
                config.diagnostics.append(Diagnostic(
                    "WARNING", f"'bind {bind}' : address already bound by {owner.section} '{owner.name}'{where}; "
                    "the kernel splits new connections between the two.", bind.loc, LOC_BARE))  # fmt: skip


def resolve_routing(config: Config, frontend: Proxy) -> Routing:
    """Find the backends `frontend` names; report the unknown and the incompatible ones."""
    routing = Routing()
    if frontend.default_backend:
        target = _target(config, frontend, frontend.default_backend, "default_backend", "as its default backend")
        routing.default_backend = target
        if target is not None and frontend.servers:
            _warn(config, f"In proxy '{frontend.name}', the 'default_backend' rule always has precedence over "
                  "the servers, which will never be used.", frontend)  # fmt: skip
    elif frontend.is_backend:
        routing.default_backend = frontend  # a listen section serves its own servers
    for rule in frontend.use_backends:
        if "%" in rule.backend:  # a log-format expression: resolved per request
            routing.rules.append(SwitchingRule(rule, None, dynamic=True))
            continue
        target = _target(config, frontend, rule.backend, "use_backend", "in a 'use_backend' rule")
        if target is not None:
            routing.rules.append(SwitchingRule(rule, target))
    return routing


def _target(config: Config, frontend: Proxy, name: str, keyword: str, role: str) -> Proxy | None:
    """The backend called `name`, or None after reporting why it cannot be used."""
    target = config.backends.get(name)
    if target is None:
        _alert(config, f"Proxy '{frontend.name}': unable to find required {keyword}: '{name}'.", frontend)
        return None
    if target is frontend:
        _alert(config, f"Proxy '{frontend.name}': loop detected for {keyword}: '{name}'.", frontend)
        return None
    if not modes_compatible(frontend.mode, target.mode):
        _alert(config, f"{frontend.mode} {cap_str(frontend.section)} '{frontend.name}' ({frontend.loc}) tries to "
               f"use incompatible {target.mode} {cap_str(target.section)} '{target.name}' ({target.loc}) "
               f"{role} (see 'mode').", frontend)  # fmt: skip
        return None
    return target


def modes_compatible(frontend_mode: str, backend_mode: str) -> bool:
    """Same mode, or a tcp frontend upgrading to an http backend (cfg section 4)."""
    return frontend_mode == backend_mode or (frontend_mode == MODE_TCP and backend_mode == MODE_HTTP)


def missing_timeouts(proxy: Proxy) -> bool:
    """HAProxy's rule: a frontend needs `client`; a backend with servers needs
    `connect`, and `server` unless it is tcp with a `tunnel` timeout."""
    t = proxy.timeouts
    if proxy.is_frontend and not t.client:
        return True
    if proxy.is_backend and proxy.servers:
        if not t.connect:
            return True
        if not t.server and (proxy.mode == MODE_HTTP or not t.tunnel):
            return True
    return False


def has_listener(config: Config) -> bool:
    """True when at least one enabled frontend binds an address (lb can start)."""
    return any(fe.binds and not fe.disabled for fe in config.frontends.values())


__all__ = ["check_proxies", "resolve_routing", "modes_compatible", "missing_timeouts", "has_listener",
           "declared_order", "MISSING_TIMEOUTS"]  # fmt: skip
