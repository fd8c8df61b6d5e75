"""One runtime API client's command stream, without sockets (master).

HAProxy's CLI protocol (src/cli.c cli_io_handler), byte for byte:

- a command ends at a newline or at a `;` not escaped by a backslash; a
  trailing CR is dropped, and a NUL ends the line as it does in C;
- the answer of every command is followed by the "prompt": a bare newline,
  or "\\n> " in interactive mode (the `prompt` command toggles it);
- not interactive, the connection closes once a command has been answered
  and nothing more is waiting in the input ("cmd1; cmd2\\n" gives both
  answers, then the close);
- a line longer than the buffer (tune.bufsize - 1 bytes) closes the
  connection without an answer.

`feed()` takes bytes, `run()` executes every complete command and returns
what to send.  A command answered later (lb.runtime_api.commands.Pending)
stops the stream until `run()` finds its answer ready.
"""

from __future__ import annotations

from typing import Callable

from lb.runtime_api.commands import LEVEL_ADMIN, Pending

MAX_ARGS = 64  # HAProxy's MAX_CLI_ARGS


def split_args(line: str) -> list[str]:
    """Words of a command line: blanks separate, a backslash escapes the next character."""
    args: list[str] = []
    i, n = 0, len(line)
    while len(args) < MAX_ARGS and i < n:
        while i < n and line[i] in " \t":
            i += 1
        if i >= n:
            break
        word = []
        while i < n and line[i] not in " \t":
            if line[i] == "\\" and i + 1 < n:
                i += 1
            word.append(line[i])
            i += 1
        args.append("".join(word))
    return args


def next_command(buffer: bytes) -> tuple[bytes | None, int]:
    """(command bytes, bytes consumed) of the first complete command, or (None, 0)."""
    i, n = 0, len(buffer)
    while i < n:
        byte = buffer[i]
        if byte == 0x5C:  # backslash: the next byte never ends a command
            i += 2
            continue
        if byte in (0x0A, 0x3B):  # \n ;
            line = buffer[:i]
            if byte == 0x0A and line.endswith(b"\r"):
                line = line[:-1]
            return line, i + 1
        i += 1
    return None, 0


Dispatch = Callable[["Session", list[str]], "str | Pending | None"]


class Session:
    """The protocol state of one client: level, prompt mode, input buffer."""

    def __init__(self, level: int, dispatch: Dispatch, max_line: int = 16383, timeout_ms: int = 10_000) -> None:
        self.level = level  # may be lowered by `user` / `operator`
        self.socket_level = level  # the socket's own level (HAProxy's bind_conf->level)
        self.dispatch = dispatch
        self.max_line = max_line
        self.timeout_ms = timeout_ms  # `set timeout cli` changes it
        self.interactive = False
        self.no_lf = False  # `user -`, `operator -`: no newline after this answer
        self.buffer = b""
        self.closing = False  # close once the output is sent
        self.pending: Pending | None = None
        self.eof = False
        self.quitting = False

    def feed(self, data: bytes) -> None:
        self.buffer += data

    def run(self) -> bytes:
        """Execute what can be executed now; the bytes to send back."""
        out: list[bytes] = []
        if self.pending is not None:
            if not self.pending.ready():
                return b""
            out.append(self._answer(self.pending.result()))
            self.pending = None
            self._after_command()
        while not self.closing and self.pending is None:
            line, used = next_command(self.buffer)
            if line is None:
                if len(self.buffer) > self.max_line:
                    self.closing = True  # no end of line within the buffer: HAProxy closes
                elif self.eof:
                    self.closing = True
                break
            if used > self.max_line:
                self.closing = True
                break
            self.buffer = self.buffer[used:]
            result = self.dispatch(self, split_args(line.split(b"\0", 1)[0].decode("latin-1")))
            if isinstance(result, Pending):
                self.pending = result
                break
            out.append(self._answer(result))
            self._after_command()
        return b"".join(out)

    def _answer(self, text: str | None) -> bytes:
        body = (text or "").encode("latin-1", "replace")
        if self.quitting:
            return body  # `quit`: nothing after it, not even the prompt
        if self.interactive:
            return body + b"\n> "
        prompt = b"" if self.no_lf else b"\n"
        self.no_lf = False
        return body + prompt

    def _after_command(self) -> None:
        if not self.interactive and not self.buffer:
            self.closing = True

    def waiting(self) -> bool:
        """A command waits for other processes: read nothing more meanwhile."""
        return self.pending is not None

    # -- what commands may change ------------------------------------------------

    def quit(self) -> None:
        self.quitting = self.closing = True

    def toggle_prompt(self) -> None:
        self.interactive = not self.interactive

    @property
    def is_admin(self) -> bool:
        return self.level >= LEVEL_ADMIN
