"""A log format as steps for the compiled line renderer (master builds them, workers run them).

lb.logs.logformat compiles every format twice: into one generated Python
function (an f-string: the quickest form for the interpreter) and into the
steps below, which lb.logs.render walks in compiled code, the way HAProxy's
sess_build_logline() walks its node list.  Aliases printed by the standard
formats (httplog, tcplog, clf and their parts in custom formats) have a
step code of their own and are rendered from the typed LogRecord without
a Python call; anything else (samples, hexadecimal or escaped forms,
request-line parts) is a FALLBACK step that calls the alias's generated
Python expression.  tests/logs/test_logs_steps.py renders every alias both
ways and compares.
"""

from __future__ import annotations

from typing import Any, Callable

from lb.logs.aliases import NAMESPACE, OPT_ESC, OPT_HEXA, Alias, Part

# Step codes
TEXT, SEP = 0, 1
CLIENT_IP, CLIENT_PORT, FRONTEND_IP, FRONTEND_PORT = 3, 4, 5, 6
BACKEND_SRC_IP, BACKEND_SRC_PORT, SERVER_IP, SERVER_PORT = 7, 8, 9, 10
FRONTEND, FRONTEND_T, BACKEND, SERVER, HOSTNAME = 11, 12, 13, 14, 15
T_HANDSHAKE, T_IDLE, T_REQUEST, T_QUEUE, T_CONNECT, T_RESPONSE, T_TOTAL = 16, 17, 18, 19, 20, 21, 22
T_ACTIVE, T_Q, T_D_HTTP, T_D_TCP, T_U = 23, 24, 25, 26, 27
BYTES_OUT, BYTES_IN, STATUS_HTTP, STATUS_TCP, TERM, TERM_COOKIE, TERM_TCP = 28, 29, 30, 31, 32, 33, 34
ACTCONN, FECONN, BECONN, SRVCONN, RETRIES, SRV_QUEUE, BACKEND_QUEUE = 35, 36, 37, 38, 39, 40, 41
REQUEST_COUNTER, LOG_COUNT, PID = 42, 43, 44
ACCEPT_DATE, REQUEST_DATE = 45, 46  # %t %tr: the formatter's text of the second, cached, then .mmm
ACCEPT_DATE_S, REQUEST_DATE_S, ACCEPT_MILLIS = 54, 55, 56  # %T %Tl, %trg %trl: cached per second; %ms
REQ_COOKIE, RES_COOKIE, UNIQUE_ID = 47, 48, 49
REQ_CAPTURES, RES_CAPTURES = 50, 51  # through the alias's helper; nothing when none is configured
REQUEST_LINE = 52  # through the alias's encoder
FALLBACK = 53  # the generated Python function of the alias or sample

_BY_NAME = {
    "ci": CLIENT_IP, "cp": CLIENT_PORT, "fi": FRONTEND_IP, "fp": FRONTEND_PORT,
    "bi": BACKEND_SRC_IP, "bp": BACKEND_SRC_PORT, "si": SERVER_IP, "sp": SERVER_PORT,
    "f": FRONTEND, "ft": FRONTEND_T, "b": BACKEND, "s": SERVER, "H": HOSTNAME,
    "Th": T_HANDSHAKE, "Ti": T_IDLE, "TR": T_REQUEST, "Tw": T_QUEUE, "Tc": T_CONNECT, "Tr": T_RESPONSE,
    "Tt": T_TOTAL, "Ta": T_ACTIVE, "Tq": T_Q, "Tu": T_U, "B": BYTES_OUT, "U": BYTES_IN, "ts": TERM,
    "ac": ACTCONN, "fc": FECONN, "bc": BECONN, "sc": SRVCONN, "rc": RETRIES, "sq": SRV_QUEUE,
    "bq": BACKEND_QUEUE, "rt": REQUEST_COUNTER, "lc": LOG_COUNT, "pid": PID,
    "CC": REQ_COOKIE, "CS": RES_COOKIE, "ID": UNIQUE_ID,
}  # fmt: skip
_HELPED = {"t": ACCEPT_DATE, "T": ACCEPT_DATE_S, "Tl": ACCEPT_DATE_S, "ms": ACCEPT_MILLIS, "tr": REQUEST_DATE,
           "trg": REQUEST_DATE_S, "trl": REQUEST_DATE_S, "hr": REQ_CAPTURES, "hrl": REQ_CAPTURES, "hs": RES_CAPTURES,
           "hsl": RES_CAPTURES, "r": REQUEST_LINE}  # fmt: skip


class Step:
    """One node of a format: a code, the alias's flags, literal text, and a
    Python callable for the steps that need one (helper(value) or fallback(r, c))."""

    def __init__(self, code: int, opts: int = 0, text: str = "", call: Callable[..., Any] | None = None) -> None:
        self.code = code
        self.opts = opts
        self.text = text
        self.call = call
        self.second = -1  # dates: the second `cached` was rendered for
        self.cached = ""


def alias_step(alias: Alias, opts: int, mode: str, helpers: dict[str, Any],
               fallback: Callable[[], Callable[[Any, Any], str]]) -> Step:  # fmt: skip
    """The step of one alias node; `helpers` are its Part's (lb.logs.aliases),
    `fallback()` builds the generated function when no code renders it."""
    name = alias.name
    if not opts & (OPT_HEXA | OPT_ESC):
        if name in _BY_NAME:
            return Step(_BY_NAME[name], opts)
        if name == "Td":
            return Step(T_D_HTTP if mode == "http" else T_D_TCP, opts)
        if name == "ST":
            return Step(STATUS_HTTP if mode == "http" else STATUS_TCP, opts)
        if name == "tsc":
            return Step(TERM_COOKIE if mode == "http" else TERM_TCP, opts)
        if name in _HELPED and len(helpers) == 1:
            return Step(_HELPED[name], opts, call=next(iter(helpers.values())))
    return Step(FALLBACK, opts, call=fallback())


def fallback_step(part: Part, opts: int) -> Step:
    """A step calling the generated function `f(r, c)` of one Part (as the f-string renderer would)."""
    namespace: dict[str, Any] = dict(NAMESPACE)
    namespace.update({"_h_" + key: helper for key, helper in part.helpers.items()})
    value = f"str({part.expr.replace('{p}', '_h_')})"  # as the f-string writes it
    if part.maybe_empty:  # nothing at all, its separator included (lb.logs.render)
        value = f"({value} or None)"
    source = f"def f(r, c):\n    return {value}\n"
    exec(compile(source, "<log-format part>", "exec"), namespace)  # noqa: S102 (our own generated code)
    return Step(FALLBACK, opts, call=namespace["f"])
