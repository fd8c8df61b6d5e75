"""The command table of the runtime API and its dispatch (master).

Like HAProxy's cli keyword lists: each command is registered with its
words, its help line (HAProxy's own text, column-aligned) and a handler,
next to the code that implements it (`@command(...)` in the cmd_* modules;
other areas add theirs the same way and list their module in
COMMAND_MODULES).  A handler receives a Request and returns the answer's
text, or a Pending when the answer needs other processes (show sess), or
raises CliError with HAProxy's message.  Levels are checked by the handler
where HAProxy checks them, so that the messages come in HAProxy's order.

Unknown commands get HAProxy's help: "Unknown command, but maybe one of
the following ones is a better match:" with the nearest commands by
HAProxy's word fingerprint distance (src/cli.c cli_gen_usage_msg).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from lb.runtime_api.session import Session
    from lb.runtime_api.state import RuntimeState

LEVEL_USER, LEVEL_OPERATOR, LEVEL_ADMIN = 1, 2, 3
LEVELS = {"user": LEVEL_USER, "operator": LEVEL_OPERATOR, "admin": LEVEL_ADMIN}
PERMISSION_DENIED = "Permission denied\n"
PREFIX_WORDS = 5  # HAProxy's CLI_PREFIX_KW_NB
MAX_MATCHES = 5  # CLI_MAX_MATCHES
ALWAYS = ("  help [<command>]                        : list matching or all commands\n"
          "  prompt                                  : toggle interactive mode with prompt\n"
          "  quit                                    : disconnect\n")  # fmt: skip
COMMAND_MODULES = ("lb.runtime_api.cmd_show", "lb.runtime_api.cmd_server", "lb.runtime_api.cmd_proxy",
                   "lb.runtime_api.cmd_session", "lb.runtime_api.cmd_table")  # fmt: skip


class CliError(Exception):
    """Ends a command with HAProxy's error text as the answer."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class Pending:
    """An answer that other processes must contribute to; the server polls it."""

    def ready(self) -> bool:
        raise NotImplementedError

    def result(self) -> str:
        raise NotImplementedError


@dataclass
class Request:
    args: list[str]
    session: "Session"
    state: "RuntimeState"

    def arg(self, index: int) -> str:
        """Word `index`, "" when absent (HAProxy's args past the end are empty strings)."""
        return self.args[index] if index < len(self.args) else ""

    def need(self, level: int) -> None:
        """HAProxy's cli_has_level: refuse with "Permission denied" below `level`."""
        if self.session.level < level:
            raise CliError(PERMISSION_DENIED)


Handler = Callable[[Request], Any]


@dataclass(frozen=True)
class Command:
    words: tuple[str, ...]
    usage: str | None
    handler: Handler


COMMANDS: list[Command] = []


def command(*words: str, usage: str | None = None) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        COMMANDS.append(Command(tuple(words), usage, handler))
        return handler

    return register


def load_commands() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name)


def find(args: list[str]) -> Command | None:
    """The first command whose words all match the first arguments (cli_find_kw)."""
    for cmd in COMMANDS:
        if len(args) >= len(cmd.words) and tuple(args[: len(cmd.words)]) == cmd.words:
            return cmd
    return None


def dispatch(session: "Session", args: list[str], state: "RuntimeState") -> str | Pending | None:
    cmd = find(args)
    if cmd is None:
        return usage_message(args)
    try:
        return cmd.handler(Request(args, session, state))
    except CliError as exc:
        return exc.text
    except Exception:  # noqa: BLE001  a bug in one command must never take the master down
        import traceback

        state.on_change("runtime api internal error", {"command": " ".join(args), "error": traceback.format_exc()})
        return "Internal error.\n"


# -- help and "Unknown command" ---------------------------------------------------------


def fingerprint(words: list[str]) -> list[int]:
    """HAProxy's word fingerprint (src/tools.c update_word_fingerprint): letter
    pairs counted in a 32x32 table, plus which letters occur."""
    table = [0] * 1024
    for word in words:
        previous = 28
        for char in word.lower():
            if "a" <= char <= "z":
                current = ord(char) - ord("a") + 1
            elif "0" <= char <= "9":
                current = 27
            else:
                current = 28
            table[current] = 1
            table[32 * previous + current] = (table[32 * previous + current] + 1) & 0xFF
            previous = current
        table[32 * previous + 28] = (table[32 * previous + 28] + 1) & 0xFF
    return table


def distance(a: list[int], b: list[int]) -> int:
    return sum(abs(x - y) for x, y in zip(a, b, strict=True))


def matching_words(cmd: Command, args: list[str]) -> int:
    """How many of the command's first words the arguments repeat exactly."""
    count = 0
    for index in range(min(PREFIX_WORDS, len(cmd.words))):
        if index >= len(args) or not args[index] or cmd.words[index] != args[index]:
            break
        count = index + 1
    return count


def usage_message(args: list[str], commands: list[Command] | None = None) -> str:
    """HAProxy's answer to `help [words]` and to an unknown command."""
    commands = COMMANDS if commands is None else commands
    is_help = bool(args) and args[0] == "help"
    if is_help:
        args = args[1:]
    length = max((matching_words(cmd, args) for cmd in commands), default=0)
    if is_help:
        head = "The following commands are valid at this level:\n"
    elif not length and (not args or not args[0]):
        head = "Unknown command. Please enter one of the following commands only:\n"
    else:
        head = "Unknown command, but maybe one of the following ones is a better match:\n"
    entries = fuzzy_matches(commands, args, length)
    if not entries:
        entries = [cmd for cmd in commands if cmd.usage and prefix_matches(cmd, args, length)]
    lines = sorted(cmd.usage for cmd in entries if cmd.usage)
    return head + "".join(f"  {line}\n" for line in lines) + ALWAYS


def prefix_matches(cmd: Command, args: list[str], length: int) -> bool:
    """The command starts with the `length` words the arguments matched."""
    return len(cmd.words) >= length and tuple(args[:length]) == cmd.words[:length]


def fuzzy_matches(commands: list[Command], args: list[str], length: int) -> list[Command]:
    """The commands nearest to the words after the `length` matching ones."""
    if length >= len(args) or not args[length]:
        return []
    rest = []
    for word in args[length:PREFIX_WORDS]:
        if not word:
            break
        rest.append(word)
    typed, typed_len = fingerprint(rest), sum(len(word) for word in rest)
    matches: list[tuple[int, Command]] = []
    for cmd in commands:
        if not cmd.usage or not prefix_matches(cmd, args, length):
            continue
        words = list(cmd.words[length:PREFIX_WORDS])
        dist = distance(typed, fingerprint(words))
        total = typed_len + sum(len(word) for word in words)
        if dist < 5 * total // 2 and (len(matches) < MAX_MATCHES or dist < matches[-1][0]):
            matches.append((dist, cmd))
            matches.sort(key=lambda item: item[0])  # stable: earlier commands first on ties
            del matches[MAX_MATCHES:]
    if not matches:
        return []
    best = matches[0][0]
    return [cmd for dist, cmd in matches if dist <= 5 * best // 2]
