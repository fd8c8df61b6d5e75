"""What lb provides in HAProxy's terms: the release it models and its build features (all processes; stdlib only).

HAProxy answers `.if feature(OPENSSL)` and `-vv` from the options it was
built with.  lb has no build options; it has modules, and a module that
gives lb a capability HAProxy names declares it here when it is imported
(lb.config.keywords imports every keyword module; parse_files and
lb-haproxy import it before asking):

    from lb import features
    features.provide("PROMEX", __name__)     # e.g. lb.services.registry for the Prometheus exporter

`feature()` in `.if` conditions (lb.config.cfgcond) and the `Feature list`
of `lb-haproxy -vv` (lb.haproxy_cli) read this registry.  A feature must be
declared by a module that lb.config.keywords imports (directly or not), so
that it is known before a configuration is parsed.  Nothing is declared
for what lb only accepts and ignores (threads, splicing, Lua, PCRE: lb
uses Python's `re`).
"""

from __future__ import annotations

import select

# The HAProxy release whose behaviour lb reproduces: messages, log lines and
# defaults are compared with Debian's 2.6.12 build (README "Deviations").
MODELED_HAPROXY_VERSION = "2.6.12"

# Every feature name HAProxy 2.6 prints in `-vv`, in its order: lb prints
# them all, with `+` for those it provides and `-` for the others.
HAPROXY_FEATURES = (
    "51DEGREES", "ACCEPT4", "BACKTRACE", "CLOSEFROM", "CPU_AFFINITY", "CRYPT_H", "DEVICEATLAS", "DL", "ENGINE",
    "EPOLL", "EVPORTS", "GETADDRINFO", "KQUEUE", "LIBCRYPT", "LINUX_SPLICE", "LINUX_TPROXY", "LUA",
    "MEMORY_PROFILING", "NETFILTER", "NS", "OBSOLETE_LINKER", "OPENSSL", "OT", "PCRE", "PCRE2", "PCRE2_JIT",
    "PCRE_JIT", "POLL", "PRCTL", "PROCCTL", "PROMEX", "QUIC", "RT", "SLZ", "STATIC_PCRE", "STATIC_PCRE2",
    "SYSTEMD", "TFO", "THREAD", "THREAD_DUMP", "TPROXY", "WURFL", "ZLIB",
)  # fmt: skip

_PROVIDED: dict[str, str] = {}  # feature name -> module that declared it


def provide(name: str, by: str) -> None:
    """Declare that lb has feature `name` (HAProxy's spelling), provided by module `by`."""
    _PROVIDED[name.upper()] = by


def withdraw(name: str) -> None:
    """Forget a declared feature (tests)."""
    _PROVIDED.pop(name.upper(), None)


def has(name: str) -> bool:
    """`feature(name)` of a `.if` condition: HAProxy compares names case-sensitively."""
    return name in _PROVIDED


def provided() -> dict[str, str]:
    """Every declared feature and the module that declared it."""
    return dict(_PROVIDED)


def feature_list() -> str:
    """`-vv`'s `Feature list :` value: HAProxy's names, `+` when lb provides them."""
    names = list(HAPROXY_FEATURES) + sorted(set(_PROVIDED) - set(HAPROXY_FEATURES))
    return " ".join(("+" if name in _PROVIDED else "-") + name for name in names)


# What the event loop and resolver give every lb process: workers poll with
# selectors (epoll on Linux, poll otherwise) and server names are resolved
# with getaddrinfo.
if hasattr(select, "epoll"):
    provide("EPOLL", "selectors")
if hasattr(select, "poll"):
    provide("POLL", "selectors")
provide("GETADDRINFO", "lb.config.types")
provide("SYSTEMD", "lb.sdnotify")  # the master notifies systemd (READY=1, RELOADING=1, STOPPING=1)
