"""The runtime API's table commands: show table, clear table, set table (master; called by the stats socket).

    show table [<name> [data.<type> <op> <value>]... | [key <key>]]
    clear table <name> [data.<type> <op> <value>]... | [key <key>]
    set table <name> key <key> [data.<type> <value>]...

Pure functions of the generation's TableSet (lb.sticktables.regions) and
the command's words: `show_table(tables, args, level) -> str`.  `args` are
the words after `show|clear|set table` (the table name first); `level` is
the socket's ("user", "operator", "admin").  The returned text is what
HAProxy 2.6 writes for the command, byte for byte, without the empty line
the socket adds after every command's output.  Entry addresses (`0x...:`)
are made up from the table and position, stable while the entry lives.

The master writes through the tables' admin shard (one writer per field:
lb.sticktables.layout): `set table` makes an entry read the given values
whatever the workers counted, `clear table` tombstones entries no session
tracks ("Entry currently in use, cannot remove").
"""

from __future__ import annotations

from typing import Any, Iterator

from lb.sticktables import clock
from lb.sticktables.keys import KeyError_, display, parse_cli_key, sort_key
from lb.sticktables.model import ALIASES, DATA_KIND, FILTER_LEN
from lb.sticktables.store import StickTable

OPERATORS = ("eq", "ne", "le", "ge", "lt", "gt")
LEVELS = {"user": 0, "operator": 1, "admin": 2}
ERR_ARGS = {
    "show": 'Optional argument only supports "data.<store_data_type>" <operator> <value> and key <key>\n',
    "clear": 'Required arguments: <table> "data.<store_data_type>" <operator> <value> or <table> key <key>\n',
    "set": "Required arguments: <table> key <key> [data.<store_data_type> <value>]*\n",
}
ERR_TYPE = {
    "show": "Showing keys from tables of type other than ip, ipv6, string and integer is not supported\n",
    "clear": "Removing keys from tables of type other than ip, ipv6, string and integer is not supported\n",
    "set": "Inserting keys into tables of type other than ip, ipv6, string and integer is not supported\n",
}
PERMISSION_DENIED = "Permission denied\n"


def show_table(tables: Any, args: list[str], level: str = "admin") -> str:
    return _table_command("show", tables, args, level)


def clear_table(tables: Any, args: list[str], level: str = "admin") -> str:
    return _table_command("clear", tables, args, level)


def set_table(tables: Any, args: list[str], level: str = "admin") -> str:
    return _table_command("set", tables, args, level)


def _table_command(action: str, tables: Any, args: list[str], level: str) -> str:
    """HAProxy's cli_parse_table_req() and what follows it."""
    words = list(args) + [""] * 20
    operator = LEVELS.get(level, 0) >= LEVELS["operator"]
    if not words[0]:
        if action != "show":
            return ERR_ARGS[action]
        return "".join(_head(table) for table in tables.in_order())
    table = tables.get(words[0])
    if table is None:
        return "No such table\n"
    if words[1] == "key":
        return _per_key(action, table, words, operator)
    if words[1].startswith("data."):
        if action not in ("show", "clear"):
            return 'content-based lookup is only supported with the "show" and "clear" actions\n'
        filters = _filters(table, words)
        if isinstance(filters, str):
            return filters
        return _dump(action, table, filters, operator)
    if words[1]:
        return ERR_ARGS[action]
    return _dump(action, table, [], operator)


def _head(table: StickTable) -> str:
    cfg = table.cfg
    return f"# table: {cfg.name}, type: {cfg.key_type}, size:{cfg.size}, used:{table.count()}\n"


def _filters(table: StickTable, words: list[str]) -> list[tuple[str, str, int]] | str:
    """Up to FILTER_LEN `data.<type> <op> <value>` triplets, HAProxy's messages when wrong."""
    filters = []
    index = 0
    for index in range(FILTER_LEN):
        base = 1 + 3 * index
        if index > 0 and not words[base]:
            break
        name = ALIASES.get(words[base][5:], words[base][5:])
        if name not in DATA_KIND:
            return f"Filter entry #{index + 1}: Unknown data type\n"
        if name not in table.offsets:
            return f"Filter entry #{index + 1}: Data type not stored in this table\n"
        if words[base + 1] not in OPERATORS:
            return (f'Filter entry #{index + 1}: Require and operator among "eq", "ne", "le", "ge", "lt", '
                    '"gt"\n')  # fmt: skip
        value = _integer(words[base + 2])
        if value is None:
            return f"Filter entry #{index + 1}: Require a valid integer value to compare against\n"
        filters.append((name, words[base + 1], value))
    else:
        index = FILTER_LEN
    base = 1 + 3 * index
    if words[base]:
        return f"Detected extra data in filter, {base + 3}th word of input, after '{words[base - 1]}'\n"
    return filters


def _integer(text: str) -> int | None:
    """HAProxy's strl2llrc(): an optional sign and digits, nothing else."""
    body = text[1:] if text[:1] in "+-" else text
    if not body.isdigit():
        return None
    return int(text)


def _keep(table: StickTable, pos: int, claim: int, filters: list[tuple[str, str, int]], now: int) -> bool:
    for name, operator, value in filters:
        data = table.value(pos, claim, name, now)
        if data < value and operator in ("eq", "gt", "ge") or data == value and operator in ("ne", "gt", "lt") \
                or data > value and operator in ("eq", "lt", "le"):  # fmt: skip
            return False
    return True


def sorted_entries(table: StickTable, now: int) -> Iterator[tuple[int, int, tuple[int, ...]]]:
    """Live entries in HAProxy's key-tree order."""
    cfg = table.cfg
    entries = list(table.entries(now))
    entries.sort(key=lambda entry: sort_key(cfg.key_type, cfg.key_size, entry[2]))
    return iter(entries)


def _dump(action: str, table: StickTable, filters: list[tuple[str, str, int]], operator: bool) -> str:
    now = clock.now_ms()
    if action == "clear":
        if operator:
            for pos, claim, _key in sorted_entries(table, now):
                if _keep(table, pos, claim, filters, now) and not table.refs(pos, claim):
                    table.mark_used(table.admin)
                    table.kill(pos, table.admin)
        return ""
    out = [_head(table)]
    if not operator:
        out.append("# contents not dumped due to insufficient privileges\n")
        return "".join(out)
    for pos, claim, key in sorted_entries(table, now):
        if _keep(table, pos, claim, filters, now):
            out.append(entry_line(table, pos, claim, key, now))
    return "".join(out)


def entry_line(table: StickTable, pos: int, claim: int, key: tuple[int, ...], now: int) -> str:
    """One entry as HAProxy's table_dump_entry_to_buffer() prints it."""
    cfg = table.cfg
    expire, refs = table.expiry_and_refs(pos, claim)
    remaining = max(expire - now, 0) if cfg.expire else 0
    parts = [f"0x{address(table, pos):x}: key={display(cfg.key_type, cfg.key_size, key)} use={refs} exp={remaining}"]
    for name in cfg.data_in_order():
        label = f"{name}({cfg.store[name]})" if DATA_KIND[name] == "frqp" else name
        if name == "server_key":
            number = table.value(pos, claim, name, now)
            parts.append(f"{label}={cfg.server_names.get(number, '-') if number else '-'}")
        else:
            parts.append(f"{label}={table.value(pos, claim, name, now)}")
    return " ".join(parts) + "\n"


def address(table: StickTable, pos: int) -> int:
    """A stand-in for the entry's memory address HAProxy prints: where its row lives."""
    return 0x7F0000000000 + (id(table) & 0xFFFFFF) * 0x10000 + pos * 0x40


def _per_key(action: str, table: StickTable, words: list[str], operator: bool) -> str:
    """HAProxy's table_process_entry_per_key()."""
    cfg = table.cfg
    if not words[2]:
        return "Key value expected\n"
    if cfg.key_type == "binary":
        return ERR_TYPE[action]
    try:
        key = parse_cli_key(cfg.key_type, cfg.key_size, words[2])
    except KeyError_:
        return "Invalid key\n"
    if not operator:
        return PERMISSION_DENIED
    now = clock.now_ms()
    if action == "show":
        ref = table.lookup(key, now)
        return "" if ref is None else _head(table) + entry_line(table, ref[0], ref[1], key, now)
    if action == "clear":
        ref = table.lookup(key, now)
        if ref is None:
            return ""
        if table.refs(*ref):
            return "Entry currently in use, cannot remove\n"
        table.mark_used(table.admin)
        table.kill(ref[0], table.admin)
        return ""
    return _set(table, key, words, now)


def _set(table: StickTable, key: tuple[int, ...], words: list[str], now: int) -> str:
    """`set table <t> key <k> [data.<type> <value>]...`: each value, then the entry is touched."""
    shard = table.admin
    table.mark_used(shard)
    ref = table.get_or_create(key, now, shard)
    if ref is None:
        return "Unable to allocate a new entry\n"
    pos, claim = ref
    message = ""
    index = 3
    while words[index]:
        message = _set_one(table, pos, claim, words[index], words[index + 1], now)
        if message:
            break
        index += 2
    table.touch(pos, claim, shard, now)
    return message


def _set_one(table: StickTable, pos: int, claim: int, word: str, text: str, now: int) -> str:
    if not word.startswith("data."):
        return '"data.<type>" followed by a value expected\n'
    name = ALIASES.get(word[5:], word[5:])
    if name not in DATA_KIND:
        return "Unknown data type\n"
    if name not in table.offsets:
        return "Data type not stored in this table\n"
    value = _integer(text)
    if value is None:
        return "Require a valid integer value to store\n"
    if name == "server_key":
        return ""  # HAProxy stores no number into a dictionary entry
    table.set_total(pos, claim, table.admin, name, _stored(name, value), now)
    return ""


def _stored(name: str, value: int) -> int:
    """The value as HAProxy's C types keep it (uint wraps, ull too, sint is 32-bit)."""
    kind = DATA_KIND[name]
    if kind == "ull":
        return value & ((1 << 64) - 1)
    if kind in ("uint", "frqp"):
        return value & 0xFFFFFFFF
    return value
