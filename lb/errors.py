"""Errors and exit codes shared by every process (master, worker, checker, cli).

Exit codes are the child -> master protocol: a worker that dies before it has
booted exits with EXIT_BOOT_ERROR so the master stops instead of fork-looping.
The CLI uses LSB-style codes (supervisorctl's convention).
"""

EXIT_OK = 0
EXIT_GENERIC = 1
EXIT_USAGE = 2
EXIT_BOOT_ERROR = 3
EXIT_PERMISSION = 4  # LSB: "user had insufficient privilege"
EXIT_CONFIG_ERROR = 6
EXIT_NOT_RUNNING = 7


class LbError(Exception):
    """Base for user-facing errors: the message is printed as `Error: ...`."""

    exit_status = EXIT_GENERIC


class ConfigError(LbError):
    """A configuration could not be loaded; `diagnostics` holds every problem."""

    exit_status = EXIT_CONFIG_ERROR

    def __init__(self, message: str, diagnostics: list | None = None) -> None:
        super().__init__(message)
        self.diagnostics = diagnostics or []


class NotRunning(LbError):
    exit_status = EXIT_NOT_RUNNING


def os_failure(exc: OSError, what: str) -> LbError:
    """An OSError met on `what` (a file, an address) as a user-facing error:
    `cannot open log file '/x': No such file or directory`, exit 4 when the
    system refused for lack of privilege, else 1."""
    error = LbError(f"{what}: {exc.strerror or exc}")
    if isinstance(exc, PermissionError):
        error.exit_status = EXIT_PERMISSION
    return error


class HaltServer(BaseException):
    """Raised inside the master to stop it; BaseException so nothing swallows it."""

    def __init__(self, reason: str, exit_status: int = EXIT_GENERIC) -> None:
        super().__init__(reason)
        self.reason = reason
        self.exit_status = exit_status
