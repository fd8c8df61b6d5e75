"""Printing configuration diagnostics the way `haproxy -c` does (cli, master).

Every line has HAProxy's shape, byte for byte:

    [ALERT]    (1234) : config : parsing [lb.cfg:12] : unknown keyword 'x' in 'frontend' section
    [WARNING]  (1234) : config : missing timeouts for frontend 'fe'.
    [NOTICE]   (1234) : lb version is 0.1.0

The level is padded to 10 columns; the location takes one of HAProxy's four
forms (Diagnostic.form).  `run_check` is `lbctl check`: it loads the files,
prints every diagnostic on stderr, the verdict on stdout, and returns the
exit status (0 valid, 1 invalid, 2 valid but nothing to listen on); quiet,
it prints nothing at all, as `haproxy -c -q`.
"""

from __future__ import annotations

import os
import sys
from typing import TextIO

from lb import __version__
from lb.config.model import LOC_BARE, LOC_HIDDEN, LOC_PARSING, LOC_PARSING_TIGHT, Config, Diagnostic

EXIT_VALID = 0
EXIT_INVALID = 1
EXIT_NO_LISTENER = 2  # haproxy -c: "has no error but will not start (no listener)"

CONTEXT = "config : "  # HAProxy's prefix for everything said while loading a configuration
_LOCATION_FORMS = {
    LOC_PARSING: "parsing [{loc}] : ",
    LOC_PARSING_TIGHT: "parsing [{loc}]: ",
    LOC_BARE: "[{loc}] : ",
    LOC_HIDDEN: "",
}


def head(severity: str, pid: int) -> str:
    """`[ALERT]    (pid) : `: the level in brackets padded to 10 columns."""
    return f"[{severity[:8]}]".ljust(10) + f" ({pid}) : "


def format_diagnostic(d: Diagnostic, pid: int) -> str:
    """One diagnostic as HAProxy prints it (no trailing newline; the message
    itself may hold several lines)."""
    where = _LOCATION_FORMS.get(d.form, _LOCATION_FORMS[LOC_PARSING]).format(loc=d.loc) if d.loc else ""
    return f"{head(d.severity, pid)}{CONTEXT}{where}{d.message}"


def diagnostic_lines(config: Config, pid: int, *, quiet: bool = False, diag: bool = False) -> list[str]:
    """What `haproxy -c` writes on stderr for `config`, line groups in order.

    Alerts are printed even when quiet (HAProxy overrides -q while starting);
    the version notice comes before the first alert; DIAG lines only with
    `diag` (HAProxy's -dD).
    """
    lines: list[str] = []
    noticed = False
    for d in config.diagnostics:
        if d.severity == "ALERT" and not noticed and not quiet:
            lines.append(f"{head('NOTICE', pid)}lb version is {__version__}")
        noticed = noticed or d.severity == "ALERT"
        if d.severity == "ALERT" or (d.severity == "DIAG" and diag) or (d.severity not in ("ALERT", "DIAG") and not quiet):
            lines.append(format_diagnostic(d, pid))
    return lines


def verdict(config: Config) -> tuple[int, list[str], list[Diagnostic]]:
    """(exit status, stdout lines, extra alerts) once `config` is loaded."""
    from lb.config.validate import has_listener

    if config.alerts:
        return EXIT_INVALID, [], []
    if config.warnings and config.global_.extras.get("zero_warning"):
        abort = Diagnostic("ALERT", "Some warnings were found and 'zero-warning' is set. Aborting.")
        return EXIT_INVALID, [], [abort]
    out = ["Warnings were found."] if config.warnings else []
    if not has_listener(config):
        return EXIT_NO_LISTENER, out + ["Configuration file has no error but will not start (no listener) => exit(2)."], []
    return EXIT_VALID, out + ["Configuration file is valid"], []


def run_check(
    paths: list[str],
    quiet: bool = False,
    *,
    diag: bool = False,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """`lbctl check -f FILE...`: print the diagnostics, return the exit status."""
    from lb.config import load

    out, err = stdout or sys.stdout, stderr or sys.stderr
    pid = os.getpid()
    config = load(paths)
    status, verdict_lines, extra = verdict(config)
    config.diagnostics.extend(extra)
    if quiet:  # `haproxy -c -q`: nothing at all, only the exit status
        return status
    _write(err, "".join(line + "\n" for line in diagnostic_lines(config, pid, diag=diag)))
    for line in verdict_lines:
        out.write(line + "\n")
    out.flush()
    return status


def _write(stream: TextIO, text: str) -> None:
    """Write `text` with the configuration's own bytes: a byte that is not
    UTF-8 (kept as a surrogate by the reader) goes out as is, as HAProxy
    echoes it, not as a `\\udcxx` escape."""
    binary = getattr(stream, "buffer", None)
    if binary is None:
        stream.write(text)
    else:
        stream.flush()
        binary.write(text.encode("utf-8", "surrogateescape"))
    stream.flush()


__all__ = ["format_diagnostic", "diagnostic_lines", "verdict", "run_check", "head",
           "EXIT_VALID", "EXIT_INVALID", "EXIT_NO_LISTENER"]  # fmt: skip
