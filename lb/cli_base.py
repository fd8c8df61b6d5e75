"""The lbctl command group: every failure is one `Error: ...` line on stderr
with a documented exit status, never a traceback (cli).

click's standalone mode prints a usage error after a `Usage:` block and lets
any other exception out as a traceback.  `LbctlGroup.main` runs click
non-standalone and turns what can go wrong for a user into one line:

  unknown option, bad option value (click)     exit 2, plus a `Try ... -h` hint
  LbError (lb's user-facing errors)            its exit_status
  OSError that nothing closer handled          exit 1 (4 when permission was refused)
  Ctrl-C                                       exit 130, as a shell reports SIGINT

(click itself ends a command whose output pipe closed, `lbctl logs | head`,
silently with status 1.)

A bug in lb still shows its traceback: hiding it would hide the fix.
The exit statuses of each command are listed in its `--help` by `exit_codes()`.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from lb.errors import EXIT_GENERIC, EXIT_PERMISSION, EXIT_USAGE, LbError

EXIT_INTERRUPTED = 130

# The lines of the `Exit status:` epilogs, by code; commands pick theirs.
STATUS_TEXT = {
    0: "success",
    1: "failure (see the Error: line)",
    2: "usage error: unknown option, bad option value or address",
    3: "a worker failed to boot",
    4: "permission denied (file, socket, privileged port)",
    6: "the configuration is invalid or cannot be read",
    7: "lb is not running (no master found)",
    130: "interrupted (Ctrl-C)",
}


def exit_codes(*codes: int, **overrides: str) -> str:
    """A click epilog listing `codes`; `overrides` (`c1="..."`) rewrites a line for one command."""
    lines = ["\b", "Exit status:"]
    for code in codes:
        lines.append(f"  {code:<3d} {overrides.get(f'c{code}', STATUS_TEXT[code])}")
    return "\n".join(lines)


def error(message: str) -> None:
    click.echo(f"Error: {message}", err=True)


class LbctlGroup(click.Group):
    """A click.Group whose main() reports errors as `Error: ...` lines."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:  # fmt: skip
        try:
            result = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.UsageError as exc:
            error(exc.format_message())
            if exc.ctx is not None:
                click.echo(f"Try '{exc.ctx.command_path} -h' for help.", err=True)
            sys.exit(EXIT_USAGE)
        except click.ClickException as exc:
            error(exc.format_message())
            sys.exit(exc.exit_code)
        except click.Abort:
            sys.exit(EXIT_INTERRUPTED)
        except LbError as exc:
            error(str(exc))
            sys.exit(exc.exit_status)
        except OSError as exc:
            error(describe_os_error(exc))
            sys.exit(EXIT_PERMISSION if isinstance(exc, PermissionError) else EXIT_GENERIC)
        sys.exit(result if isinstance(result, int) else 0)


def describe_os_error(exc: OSError) -> str:
    """`/run/lb/lb.pid: No such file or directory` rather than `[Errno 2] ...`."""
    where = exc.filename if exc.filename is not None else ""
    return f"{where}: {exc.strerror}" if where and exc.strerror else str(exc.strerror or exc)
