"""lbctl: a thin click layer over lb.control and the feature modules (cli).

Every command parses its options and calls one function; user-facing errors
are printed as `Error: ...` on stderr with an LSB-style exit code
(lb.errors).
"""

from __future__ import annotations

import sys

import click

from lb import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "LB"})
@click.version_option(__version__, prog_name="lbctl")
def main() -> None:
    """Run and control lb, a prefork load balancer for HAProxy configurations."""


@main.command()
@click.option("-f", "--file", "files", multiple=True, required=True, type=click.Path(dir_okay=False),
              help="Configuration file (repeat for several, read in order).")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing, only set the exit code.")
def check(files: tuple[str, ...], quiet: bool) -> None:
    """Validate a configuration like `haproxy -c`: exit 0 if valid, 1 if not."""
    from lb.config.diagnostics import run_check

    sys.exit(run_check(list(files), quiet=quiet))
