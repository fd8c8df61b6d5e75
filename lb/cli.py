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


FILES = click.option("-f", "--file", "files", multiple=True, required=True, type=click.Path(dir_okay=False),
                     help="Configuration file (repeat for several, read in order).")  # fmt: skip
PIDFILE = click.option("-p", "--pidfile", default=None, help="Pidfile of the master (default: from the config).")


@main.command()
@FILES
@click.option("--foreground", is_flag=True, help="Run the master in this process instead of daemonizing.")
@click.option("--log-format", type=click.Choice(["json", "console"]), default=None,
              help="How lb's own events are rendered (default: console on a terminal, else json).")
def start(files: tuple[str, ...], foreground: bool, log_format: str | None) -> None:
    """Start the master, its workers and its health checker."""
    from lb import control

    sys.exit(control.start(list(files), foreground, log_format))


@main.command()
@FILES
@PIDFILE
@click.option("--now", is_flag=True, help="Stop immediately (SIGTERM) instead of gracefully (SIGUSR1).")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait for the master to exit.")
def stop(files: tuple[str, ...], pidfile: str | None, now: bool, timeout: float) -> None:
    """Stop gracefully: listeners stop accepting, open connections finish."""
    from lb import control

    sys.exit(control.stop(list(files), pidfile, now, timeout))


@main.command()
@FILES
@PIDFILE
@click.option("--timeout", default=30.0, show_default=True, help="Seconds to wait for the new generation.")
def reload(files: tuple[str, ...], pidfile: str | None, timeout: float) -> None:
    """Validate the configuration, then start a new generation without dropping a connection."""
    from lb import control

    sys.exit(control.reload(list(files), pidfile, timeout))


@main.command()
@click.option("-f", "--follow", is_flag=True, help="Keep reading the file as it grows (across rotation).")
@click.option("--file", "path", type=click.Path(dir_okay=False), default=None,
              help="Log file to read (default: stdin).")
@click.option("--listen", metavar="ADDR:PORT", default=None,
              help="Receive UDP syslog datagrams on this address instead of reading a file.")
@click.option("--frontend", default=None, help="Keep the lines of this frontend.")
@click.option("--backend", default=None, help="Keep the lines of this backend.")
@click.option("--server", default=None, help="Keep the lines of this server (NOSRV: no server reached).")
@click.option("--status", default=None, metavar="CODES", help="Keep these statuses: 404, 5xx, 4xx,503 ...")
@click.option("--slower-than", default=None, metavar="TIME",
              help="Keep lines slower than this (Ta for HTTP, Tt for TCP): 500ms, 2s ...")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines (or the summary as JSON).")
@click.option("--summary", is_flag=True, help="Print requests, status classes and latency percentiles per backend.")
@click.option("--log-format", "formats", multiple=True, metavar="FORMAT",
              help="A custom log-format the lines may use (besides tcplog, httplog and clf).")
@click.option("--max-lines", default=0, show_default=True, help="Stop after this many matching lines (0: no limit).")
def logs(follow: bool, path: str | None, listen: str | None, frontend: str | None, backend: str | None,
         server: str | None, status: str | None, slower_than: str | None, as_json: bool, summary: bool,
         formats: tuple[str, ...], max_lines: int) -> None:
    """Read tcplog/httplog lines (file, stdin or syslog datagrams), filter, print or summarize them."""
    from lb.logs import tail

    if path and listen:
        raise click.UsageError("--file and --listen are exclusive.")
    options = tail.Options(file=path, listen=listen, follow=follow, frontend=frontend, backend=backend,
                           server=server, status=status, slower_than=slower_than, json=as_json,
                           summary=summary, formats=formats, max_lines=max_lines)
    try:
        tail.Filter.from_options(options)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    sys.exit(tail.run(options))


@main.command()
@click.option("--duration", type=float, default=None, help="Stop after this many seconds (default: until Ctrl-C).")
@click.option("--interval", type=float, default=0.5, show_default=True, help="Seconds between demo requests.")
def demo(duration: float | None, interval: float) -> None:
    """Run lb in front of three bundled HTTP applications and show the balancing."""
    from lb.demo import run

    sys.exit(run(duration, interval))
