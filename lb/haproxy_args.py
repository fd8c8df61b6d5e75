"""HAProxy's command line, parsed the way HAProxy 2.6 parses it (cli).

`parse(argv)` reads the arguments of `haproxy` (src/haproxy.c init_args)
into an `Args`; a wrong command line raises `Usage`, which prints the
usage text (after an alert when there is one) and exits 1, as HAProxy
does.  Options HAProxy has for its own internals (`-de`, `-dM`, `-dp` ...)
are accepted and have no effect in lb.  `-v`/`-vv` print lb's version in
HAProxy's format; scripts reading `HAProxy version X` find the HAProxy
release lb models (lb.features) with lb's own version appended.
"""

from __future__ import annotations

import os
import stat
import sys
from dataclasses import dataclass, field

from lb import __version__, features

USAGE = """\
Usage : {name} [-f <cfgfile|cfgdir>]* [ -vdVD ] [ -n <maxconn> ] [ -N <maxpconn> ]
        [ -p <pidfile> ] [ -m <max megs> ] [ -C <dir> ] [-- <cfgfile>*]
        -v displays version ; -vv shows known build options.
        -d enters debug mode ; -db only disables background mode.
        -dM[<byte>,help,...] debug memory (default: poison with <byte>/0x50)
        -V enters verbose mode (disables quiet mode)
        -D goes daemon ; -C changes to <dir> before loading files.
        -W master-worker mode.
        -Ws master-worker mode with systemd notify support.
        -q quiet mode : don't display messages
        -c check mode : only check config files and exit
        -cc check condition : evaluate a condition and exit
        -n sets the maximum total # of connections (uses ulimit -n)
        -m limits the usable amount of memory (in MB)
        -N sets the default, per-proxy maximum # of connections (0)
        -L set local peer name (default to hostname)
        -p writes pids of all children to this file
        -de disables epoll() usage even when available
        -dp disables poll() usage even when available
        -dS disables splice usage (broken on old kernels)
        -dG disables getaddrinfo() usage
        -dR disables SO_REUSEPORT usage
        -dL dumps loaded object files after config checks
        -dK{{class[,...]}} dump registered keywords (use 'help' for list)
        -dr ignores server address resolution failures
        -dV disables SSL verify on servers side
        -dW fails if any warning is emitted
        -dD diagnostic mode : warn about suspicious configuration statements
        -sf/-st [pid ]* finishes/terminates old pids.
        -x <unix_socket> get listening sockets from a unix socket
        -S <bind>[,<bind options>...] new master CLI

"""
MODELED_RELEASE_DATE = "2023/03/28"  # HAProxy 2.6.12's
# `-d<x>` flags that tune HAProxy's internals (pollers, memory debugging ...): no effect in lb.
INTERNAL_DEBUG_FLAGS = "epkvGRVMrLK"


class Usage(Exception):
    """A wrong command line: print `alert` (if any) and the usage, exit 1."""

    def __init__(self, alert: str | None = None) -> None:
        super().__init__(alert or "usage")
        self.alert = alert


@dataclass
class Args:
    files: list[str] = field(default_factory=list)
    version: int = 0  # 1: -v, 2: -vv
    check: bool = False  # -c
    condition: str | None = None  # -cc <cond>
    quiet: bool = False  # -q
    verbose: bool = False  # -V
    debug: bool = False  # -d: foreground (lb has no debug trace)
    foreground: bool = False  # -db, -Ws
    daemon: bool = False  # -D
    master_worker: bool = False  # -W, -Ws
    systemd: bool = False  # -Ws
    zero_warning: bool = False  # -dW
    nosplice: bool = False  # -dS: as global `nosplice`
    diag: bool = False  # -dD
    pidfile: str | None = None  # -p
    old_pids: list[int] = field(default_factory=list)  # -sf / -st
    old_pids_hard: bool = False  # -st: SIGTERM instead of SIGUSR1
    master_cli: list[str] = field(default_factory=list)  # -S
    unix_socket: str | None = None  # -x
    local_peer: str | None = None  # -L
    maxconn: int | None = None  # -n
    maxpconn: int | None = None  # -N
    memmax_mb: int | None = None  # -m
    chdir: str | None = None  # -C
    ignored: list[str] = field(default_factory=list)  # internal -d<x> flags seen


def program_name(argv0: str | None = None) -> str:
    """HAProxy names itself by argv[0]; `python -m lb.haproxy_cli` is lb-haproxy."""
    name = os.path.basename(argv0 if argv0 is not None else sys.argv[0])
    return "lb-haproxy" if not name or name.endswith(".py") or name == "__main__" else name


def _atol(text: str) -> int:
    """C's atol(): leading blanks, a sign and digits; 0 when there are none."""
    text = text.lstrip(" \t\n")
    end = 1 if text[:1] in "+-" else 0
    while end < len(text) and text[end].isdigit():
        end += 1
    try:
        return int(text[:end])
    except ValueError:
        return 0


def parse(argv: list[str]) -> Args:
    """HAProxy's init_args() over `argv` (without the program name)."""
    args, rest = Args(), list(argv)
    while rest:
        word = rest.pop(0)
        if not word.startswith("-"):
            raise Usage()
        flag = word[1:]
        if flag.startswith("v"):
            args.version = 2 if flag.startswith("vv") else 1
            return args  # HAProxy prints and exits on the spot
        if flag == "-":
            args.files.extend(rest)
            return args
        if not _one_word(args, flag, rest):
            _two_words(args, flag, rest)
    return args


def _one_word(args: Args, flag: str, rest: list[str]) -> bool:
    """Flags without a value (and -cc, -S, -x, -sf/-st, which take theirs); False if not one of them."""
    if flag.startswith("d") and flag[1:2] and flag[1] in INTERNAL_DEBUG_FLAGS:
        args.ignored.append("-" + flag)
    elif flag.startswith("db"):
        args.foreground = True
    elif flag.startswith("dD"):
        args.diag = True
    elif flag.startswith("dW"):
        args.zero_warning = True
    elif flag.startswith("dS"):
        args.nosplice = True
    elif flag.startswith("d"):
        args.debug = True
    elif flag.startswith("cc"):
        if not rest:
            raise Usage()
        args.condition = rest.pop(0)
    elif flag.startswith("c"):
        args.check = True
    elif flag.startswith("D"):
        args.daemon = True
    elif flag.startswith("Ws"):
        args.master_worker = args.foreground = args.systemd = True
    elif flag.startswith("W"):
        args.master_worker = True
    elif flag.startswith("q"):
        args.quiet = True
    elif flag.startswith("V"):
        args.verbose = True
    elif flag.startswith("x"):
        if not rest:
            raise Usage("Unix socket path expected with the -x flag\n")
        args.unix_socket = rest.pop(0)
    elif flag.startswith("S"):
        if not rest:
            raise Usage("Socket and optional bind parameters expected with the -S flag")
        args.master_cli.append(rest.pop(0))
    elif flag[:2] in ("sf", "st"):
        _old_pids(args, flag, rest)
    else:
        return False
    return True


def _old_pids(args: Args, flag: str, rest: list[str]) -> None:
    """`-sf|-st pid...`: every following word up to the next flag."""
    args.old_pids_hard = flag[1] == "t"
    while rest and not rest[0].startswith("-"):
        text = rest.pop(0)
        digits = text.strip()
        sign = digits[:1] if digits[:1] in "+-" else ""
        if not digits[len(sign):].isdigit():
            raise SystemExit(_alert_exit(f"-{flag[:2]} option: some bytes unconsumed in PID list {{{text}}}"))
        pid = int(digits)
        if pid <= 0:
            raise Usage()
        args.old_pids.append(pid)


def _alert_exit(message: str) -> int:
    from lb.config.diagnostics import head

    print(f"{head('ALERT', os.getpid())}{message}", file=sys.stderr)
    return 1


def _two_words(args: Args, flag: str, rest: list[str]) -> None:
    """Flags followed by one value: -C -n -m -N -L -f -p."""
    if not rest:
        raise Usage()
    value = rest.pop(0)
    letter = flag[:1]
    if letter == "C":
        args.chdir = value
    elif letter == "n":
        args.maxconn = _atol(value)
    elif letter == "m":
        args.memmax_mb = _atol(value)
    elif letter == "N":
        args.maxpconn = _atol(value)
    elif letter == "L":
        args.local_peer = value
    elif letter == "f":
        args.files.append(value)
    elif letter == "p":
        args.pidfile = value
    else:
        raise Usage()


# -- configuration files --------------------------------------------------------------

def expand_paths(files: list[str]) -> list[str]:
    """`-f` arguments into files: a directory gives its `*.cfg` files in
    lexical order (not hidden ones, only regular files), as HAProxy's
    cfgfiles_expand_directories(); OSError with HAProxy's text otherwise."""
    paths: list[str] = []
    for name in files:
        try:
            mode = os.stat(name).st_mode
        except OSError as exc:
            raise OSError(f"Cannot open configuration file/directory {name} : {exc.strerror}") from None
        if not stat.S_ISDIR(mode):
            paths.append(name)
            continue
        try:
            entries = sorted(os.listdir(name), key=os.fsencode)
        except OSError as exc:
            raise OSError(f"Cannot open configuration directory {name} : {exc.strerror}") from None
        for entry in entries:
            at = entry.find(".cfg")  # HAProxy: the first ".cfg" must end the name
            if entry.startswith(".") or at < 0 or at + 4 != len(entry):
                continue
            path = os.path.join(name, entry)
            if os.path.isfile(path):
                paths.append(path)
    return paths


# -- version and usage ------------------------------------------------------------------


def version_string() -> str:
    """`2.6.12-lb-0.1.0`: the HAProxy release lb models, then lb's own version."""
    return f"{features.MODELED_HAPROXY_VERSION}-lb-{__version__}"


def version_text(verbose: bool) -> str:
    """What `haproxy -v` (and `-vv`) print on stdout, in HAProxy's shape."""
    uname = os.uname()
    lines = [
        f"HAProxy version {version_string()} {MODELED_RELEASE_DATE} - https://haproxy.org/",
        f"Status: lb {__version__}, a Python load balancer running HAProxy "
        f"{'.'.join(features.MODELED_HAPROXY_VERSION.split('.')[:2])} configurations (this is not HAProxy).",
        f"Running on: {uname.sysname} {uname.release} {uname.version} {uname.machine}",
    ]
    if verbose:
        lines += _build_options()
    return "\n".join(lines) + "\n"


def _build_options() -> list[str]:
    import lb.config.keywords  # noqa: F401  (the modules declaring features)
    from lb.engine import engine

    version = sys.version.split()[0]
    return [
        "Build options :",
        "  TARGET  = linux-glibc" if sys.platform.startswith("linux") else f"  TARGET  = {sys.platform}",
        f"  CC      = {sys.implementation.name} {version} ({engine()} engine)",
        "",
        f"Feature list : {features.feature_list()}",
        "",
        "Default settings :",
        "  bufsize = 16384, maxrewrite = 1024, maxpollevents = 200",
        "",
        "Built with multi-process support (prefork workers, `nbproc`; no threads).",
        "",
        "Available polling systems :",
        _poller(),
        "",
        f"Available services : {_services()}",
        "",
    ]


def _poller() -> str:
    if features.has("EPOLL"):
        return "      epoll : pref=300,  test result OK"
    return "       poll : pref=200,  test result OK"


def _services() -> str:
    return "prometheus-exporter" if features.has("PROMEX") else "none"


def usage_text(name: str) -> str:
    return USAGE.format(name=name)
