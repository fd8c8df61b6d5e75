"""lbctl: a thin click layer over lb.control and the feature modules (cli).

Every command parses its options and calls one function; user-facing errors
are printed as `Error: ...` on stderr with an LSB-style exit code
(lb.errors, lb.cli_base), listed in each command's `--help`.
"""

from __future__ import annotations

import sys

import click

from lb import __version__
from lb.cli_base import LbctlGroup, exit_codes
from lb.errors import LbError


@click.group(cls=LbctlGroup, context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": "LB"})
@click.version_option(__version__, prog_name="lbctl")
def main() -> None:
    """Run and control lb, a prefork load balancer for HAProxy configurations."""


FILES = click.option("-f", "--file", "files", multiple=True, required=True, metavar="FILE|DIR",
                     help="Configuration file, or directory of *.cfg files (repeat: read in order).")  # fmt: skip
PIDFILE = click.option("-p", "--pidfile", default=None, help="Pidfile of the master (default: from the config).")


@main.command(epilog=exit_codes(0, 1, 2, c1="the configuration is invalid or a file cannot be read",
                                c2="valid but nothing to listen on (as haproxy -c), or a usage error"))  # fmt: skip
@FILES
@click.option("-q", "--quiet", is_flag=True, help="Print nothing, only set the exit status (haproxy -c -q).")
def check(files: tuple[str, ...], quiet: bool) -> None:
    """Validate a configuration like `haproxy -c`: exit 0 if valid, 1 if not."""
    from lb.config.diagnostics import run_check

    sys.exit(run_check(list(files), quiet=quiet))


@main.command(epilog=exit_codes(0, 1, 2, 3, 4, 6, c1="failure: an address cannot be bound, already running ..."))
@FILES
@click.option("--foreground", is_flag=True, help="Run the master in this process instead of daemonizing.")
@click.option("--log-format", type=click.Choice(["json", "console"]), default=None,
              help="How lb's own events are rendered (default: console on a terminal, else json).")
def start(files: tuple[str, ...], foreground: bool, log_format: str | None) -> None:
    """Start the master, its workers and its health checker."""
    from lb import control

    sys.exit(control.start(list(files), foreground, log_format))


@main.command(epilog=exit_codes(0, 1, 2, 4, 7, c1="failure: the master is still running after --timeout"))
@FILES
@PIDFILE
@click.option("--now", is_flag=True, help="Stop immediately (SIGTERM) instead of gracefully (SIGUSR1).")
@click.option("--timeout", default=60.0, show_default=True, type=click.FloatRange(min=0),
              help="Seconds to wait for the master to exit.")
def stop(files: tuple[str, ...], pidfile: str | None, now: bool, timeout: float) -> None:
    """Stop gracefully: listeners stop accepting, open connections finish."""
    from lb import control

    sys.exit(control.stop(list(files), pidfile, now, timeout))


@main.command(epilog=exit_codes(0, 1, 2, 4, 6, 7, c1="failure: no new generation became active"))
@FILES
@PIDFILE
@click.option("--timeout", default=30.0, show_default=True, type=click.FloatRange(min=0),
              help="Seconds to wait for the new generation.")
def reload(files: tuple[str, ...], pidfile: str | None, timeout: float) -> None:
    """Validate the configuration, then start a new generation without dropping a connection."""
    from lb import control

    sys.exit(control.reload(list(files), pidfile, timeout))


@main.command(epilog=exit_codes(0, 1, 2, 4, c1="failure: the file cannot be read, the address cannot be bound"))
@click.option("-F", "--follow", is_flag=True, help="Keep reading the file as it grows (across rotation).")
@click.option("-f", "--file", "path", default=None, metavar="FILE", help="Log file to read (default: stdin).")
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
@click.option("--max-lines", default=0, show_default=True, type=click.IntRange(min=0),
              help="Stop after this many matching lines (0: no limit).")
def logs(follow: bool, path: str | None, listen: str | None, frontend: str | None, backend: str | None,
         server: str | None, status: str | None, slower_than: str | None, as_json: bool, summary: bool,
         formats: tuple[str, ...], max_lines: int) -> None:
    """Read tcplog/httplog lines (file, stdin or syslog datagrams), filter, print or summarize them."""
    from lb.config.types import parse_time
    from lb.logs import tail
    from lb.logs.reader import format_regex

    if path and listen:
        raise click.UsageError("--file and --listen are exclusive.")
    if follow and not path:
        raise click.UsageError("--follow needs --file (stdin and --listen are read until they end anyway).")
    options = tail.Options(file=path, listen=listen, follow=follow, frontend=frontend, backend=backend,
                           server=server, status=status, slower_than=slower_than, json=as_json,
                           summary=summary, formats=formats, max_lines=max_lines)
    checks = [("--status", status, tail.status_matcher), ("--slower-than", slower_than, parse_time),
              ("--listen", listen, tail.parse_listen), *(("--log-format", f, format_regex) for f in formats)]
    for hint, value, parse in checks:
        try:
            if value:
                parse(value)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint=f"'{hint}'") from None
    sys.exit(tail.run(options))


@main.command(epilog=exit_codes(0, 1, 2, c1="failure: lb or the applications did not start"))
@click.option("--duration", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Stop after this many seconds (default: until Ctrl-C).")
@click.option("--interval", type=click.FloatRange(min=0.01), default=0.5, show_default=True,
              help="Seconds between demo requests.")
def demo(duration: float | None, interval: float) -> None:
    """Run lb in front of three bundled HTTP applications and show the balancing."""
    from lb.demo import run

    sys.exit(run(duration, interval))


@main.command(epilog=exit_codes(0, 1, 2, 4, 6, 7, c1="failure: the socket did not answer with statistics",
                                c7="lb is not running (nothing listens on the stats socket)"))  # fmt: skip
@click.option("-f", "--file", "files", multiple=True, metavar="FILE|DIR",
              help="Configuration whose 'stats socket' to use (repeat: read in order).")
@click.option("-S", "--socket", "address", default=None, metavar="ADDR",
              help="Stats socket instead: a path, or ipv4@HOST:PORT (HAProxy's works too).")
@click.option("--interval", type=click.FloatRange(min=0.1), default=2.0, show_default=True,
              help="Seconds between refreshes.")
def top(files: tuple[str, ...], address: str | None, interval: float) -> None:
    """Live view of frontends, backends and servers; d/r/m drain, ready or maint the selected server."""
    from lb.top import client
    from lb.top.model import parse_stat

    if bool(files) == bool(address):
        raise click.UsageError("give either -f CONFIG or --socket ADDR.")
    try:
        address = address or client.stats_socket_of(list(files))
        client.parse_address(address)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="'--socket'") from None
    try:
        parse_stat(client.query(address, "show stat"))
    except ValueError as exc:
        raise LbError(f"{address} did not answer 'show stat' with statistics ({exc})") from None
    try:
        from lb.top.app import TopApp
    except ImportError as exc:
        if exc.name not in ("textual", "rich") and not (exc.name or "").startswith(("textual.", "rich.")):
            raise
        raise LbError("lbctl top needs the textual library: pip install 'lb[top]' (or textual)") from None
    TopApp(address, interval).run()


@main.command(epilog=exit_codes(0, 1, 2, 6, 7, c1="failure: the stats socket did not answer"))
@FILES
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def status(files: tuple[str, ...], as_json: bool) -> None:
    """Frontends, backends and servers: state, weight, sessions, errors, last check."""
    from lb import admin

    sys.exit(admin.status(list(files), as_json))


@main.command(epilog=exit_codes(0, 1, 2, 6, 7, c1="failure: the master refused the change (its answer follows Error:)"))
@click.argument("action", type=click.Choice(["drain", "ready", "maint", "weight"]))
@click.argument("target", metavar="BACKEND/SERVER")
@click.argument("value", required=False)
@FILES
def server(action: str, target: str, value: str | None, files: tuple[str, ...]) -> None:
    """Drain, ready or maint a server, or set its weight (VALUE: 0-256 or N%), through the stats socket."""
    from lb import admin

    sys.exit(admin.server(list(files), action, target, value))
