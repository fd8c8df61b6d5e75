"""Diagnostic formatting and lbctl check's verdicts, in process."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from lb import __version__
from lb.config.diagnostics import (
    EXIT_INVALID,
    EXIT_NO_LISTENER,
    EXIT_VALID,
    diagnostic_lines,
    format_diagnostic,
    run_check,
)
from lb.config.model import LOC_BARE, LOC_HIDDEN, LOC_PARSING, LOC_PARSING_TIGHT, Config, Diagnostic, Location

LOC = Location("v2.cfg", 13)


@pytest.mark.parametrize(
    "diagnostic, line",
    [
        (Diagnostic("ALERT", "unknown keyword 'x' in 'frontend' section", LOC),
         "[ALERT]    (18872) : config : parsing [v2.cfg:13] : unknown keyword 'x' in 'frontend' section"),
        (Diagnostic("WARNING", "w", LOC, LOC_PARSING),
         "[WARNING]  (18872) : config : parsing [v2.cfg:13] : w"),
        (Diagnostic("ALERT", "unmatched quote", LOC, LOC_PARSING_TIGHT),
         "[ALERT]    (18872) : config : parsing [v2.cfg:13]: unmatched quote"),
        (Diagnostic("ALERT", "'server be/s1' : unknown keyword 'chekc'; did you mean 'check' maybe ?", LOC, LOC_BARE),
         "[ALERT]    (18872) : config : [v2.cfg:13] : 'server be/s1' : unknown keyword 'chekc'; did you mean "
         "'check' maybe ?"),
        (Diagnostic("ALERT", "Proxy 'fe': unable to find required use_backend: 'nosuch'.", LOC, LOC_HIDDEN),
         "[ALERT]    (18872) : config : Proxy 'fe': unable to find required use_backend: 'nosuch'."),
        (Diagnostic("ALERT", "Fatal errors found in configuration."),
         "[ALERT]    (18872) : config : Fatal errors found in configuration."),
        (Diagnostic("NOTICE", "'n'.", LOC, LOC_PARSING_TIGHT),
         "[NOTICE]   (18872) : config : parsing [v2.cfg:13]: 'n'."),
        (Diagnostic("DIAG", "'d'.", LOC, LOC_PARSING_TIGHT),
         "[DIAG]     (18872) : config : parsing [v2.cfg:13]: 'd'."),
    ],
)  # fmt: skip
def test_format_diagnostic_matches_haproxy(diagnostic: Diagnostic, line: str) -> None:
    assert format_diagnostic(diagnostic, 18872) == line


def _config(*diagnostics: Diagnostic) -> Config:
    return Config(diagnostics=list(diagnostics))


WARN = Diagnostic("WARNING", "w", LOC)
ALERT = Diagnostic("ALERT", "a", LOC)
DIAG = Diagnostic("DIAG", "'d'.", LOC, LOC_PARSING_TIGHT)


def test_version_notice_comes_before_the_first_alert_only() -> None:
    lines = diagnostic_lines(_config(WARN, ALERT, ALERT), 7)
    assert lines == [
        "[WARNING]  (7) : config : parsing [v2.cfg:13] : w",
        f"[NOTICE]   (7) : lb version is {__version__}",
        "[ALERT]    (7) : config : parsing [v2.cfg:13] : a",
        "[ALERT]    (7) : config : parsing [v2.cfg:13] : a",
    ]


def test_no_notice_without_alerts() -> None:
    assert diagnostic_lines(_config(WARN), 7) == ["[WARNING]  (7) : config : parsing [v2.cfg:13] : w"]


def test_quiet_keeps_alerts_only() -> None:
    # HAProxy overrides -q for alerts while starting; notices and warnings go
    assert diagnostic_lines(_config(WARN, ALERT), 7, quiet=True) == ["[ALERT]    (7) : config : parsing [v2.cfg:13] : a"]


def test_diag_lines_need_diag_mode() -> None:
    assert diagnostic_lines(_config(DIAG), 7) == []
    assert diagnostic_lines(_config(DIAG), 7, diag=True) == ["[DIAG]     (7) : config : parsing [v2.cfg:13]: 'd'."]


def check(tmp_path: Path, text: str, **kwargs) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    path = tmp_path / "t.cfg"
    path.write_text(text)
    out, err = io.StringIO(), io.StringIO()
    status = run_check([str(path)], stdout=out, stderr=err, **kwargs)
    return status, out.getvalue(), err.getvalue()


GOOD = "defaults\n timeout client 1s\n timeout connect 1s\n timeout server 1s\nfrontend f\n bind 127.0.0.1:8000\n"


def test_valid(tmp_path: Path) -> None:
    assert check(tmp_path, GOOD) == (EXIT_VALID, "Configuration file is valid\n", "")


def test_valid_with_warnings(tmp_path: Path) -> None:
    status, out, err = check(tmp_path, GOOD + ".warning careful\n")
    assert status == EXIT_VALID
    assert out == "Warnings were found.\nConfiguration file is valid\n"
    assert err.endswith(": config : parsing [" + str(tmp_path / "t.cfg") + ":7]: 'careful'.\n")


def test_no_listener_is_exit_2_like_haproxy(tmp_path: Path) -> None:
    status, out, err = check(tmp_path, "backend b\n timeout connect 1s\n timeout server 1s\n server s 127.0.0.1:1\n")
    assert (status, err) == (EXIT_NO_LISTENER, "")
    assert out == "Configuration file has no error but will not start (no listener) => exit(2).\n"


def test_invalid(tmp_path: Path) -> None:
    status, out, err = check(tmp_path, GOOD + " bogus\n")
    assert (status, out) == (EXIT_INVALID, "")
    lines = err.splitlines()
    assert lines[0].endswith(f" : lb version is {__version__}")
    assert lines[1].endswith("unknown keyword 'bogus' in 'frontend' section")
    assert lines[2].endswith("Error(s) found in configuration file : " + str(tmp_path / "t.cfg"))
    assert lines[3].endswith(" : config : Fatal errors found in configuration.")
    assert len(lines) == 4


def test_quiet_prints_nothing_as_haproxy_c_q(tmp_path: Path) -> None:
    assert check(tmp_path, GOOD + ".warning w\n", quiet=True) == (EXIT_VALID, "", "")
    assert check(tmp_path, GOOD + " bogus\n", quiet=True) == (EXIT_INVALID, "", "")


def test_zero_warning_turns_warnings_into_failure(tmp_path: Path) -> None:
    status, out, err = check(tmp_path, "global\n zero-warning\n" + GOOD + ".warning w\n")
    assert (status, out) == (EXIT_INVALID, "")
    assert err.splitlines()[-1].endswith(
        " : config : Some warnings were found and 'zero-warning' is set. Aborting."
    )


def test_unreadable_file(tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    missing = str(tmp_path / "missing.cfg")
    assert run_check([missing], stdout=out, stderr=err) == EXIT_INVALID
    assert f"config : Cannot open configuration file/directory {missing} : No such file or directory" in err.getvalue()
