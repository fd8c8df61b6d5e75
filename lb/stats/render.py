"""`show stat` and `show info` in HAProxy 2.6's CSV, typed and JSON layouts (any process).

Pure functions from rows (lb.stats.model, lb.stats.info) to text, byte for
byte as HAProxy 2.6.12 prints them (src/stats.c stats_dump_fields_csv,
stats_dump_fields_typed, stats_dump_fields_json, stats_dump_info_fields).
The CLI adds its own end-of-answer newline after these texts.

One deliberate difference: HAProxy writes strings into JSON without
escaping them; lb escapes `"`, `\\` and control characters, so that a
name with a quote still gives valid JSON (identical bytes otherwise).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from lb.stats.fields import (
    FIELD_NAMES,
    KIND_OF_TYPE,
    NATURES,
    NSTATIC,
    OBJ_TYPE_NAMES,
    ORIGINS,
    SCOPES,
    DESCRIPTION,
    Field,
)
from lb.stats.info import INFO_FIELDS, INFO_NAMES
from lb.stats.model import StatRow


@dataclass
class StatFilter:
    """`show stat [<iid|proxy> <type> <sid>] [typed|json|desc|up|no-maint]`."""

    iid: int = -1  # -1: every proxy
    types: int = -1  # bit mask: 1 frontends, 2 backends, 4 servers, 8 listeners
    sid: int = -1
    bound: bool = False
    fmt: str = "csv"  # "csv" | "typed" | "json"
    desc: bool = False
    hide_down: bool = False  # `up`
    hide_maint: bool = False  # `no-maint`


def select(rows: list[StatRow], flt: StatFilter) -> list[StatRow]:
    """The rows a filter keeps (HAProxy's STAT_BOUND, STAT_HIDE_DOWN, STAT_HIDE_MAINT)."""
    kept = []
    for row in rows:
        obj = row.obj
        if flt.bound:
            if flt.iid != -1 and obj.iid != flt.iid:
                continue
            if not flt.types & (1 << row.type):
                continue
            if obj.kind in "SL" and flt.sid != -1 and obj.sid != flt.sid:
                continue
        if obj.kind == "S" and hidden_server(row, flt):
            continue
        kept.append(row)
    return kept


def hidden_server(row: StatRow, flt: StatFilter) -> bool:
    status = value(row, "status") or ""
    if flt.hide_maint and str(status).startswith("MAINT"):
        return True
    return flt.hide_down and (str(status).startswith("MAINT") or status == "DOWN")


def value(row: StatRow, name: str) -> int | str | None:
    item = row.fields[FIELD_NAMES.index(name)]
    return None if item is None else item.value


def with_server_counts(row: StatRow) -> StatRow:
    """A backend's status with " (up/total)" servers, as HAProxy shows it under `up`/`no-maint`."""
    fields = list(row.fields)
    position = FIELD_NAMES.index("status")
    item = fields[position]
    if item is not None:
        fields[position] = item._replace(value=f"{item.value} ({row.servers_up}/{len(row.obj.servers)})")
    return StatRow(row.obj, fields, row.servers_up)


# -- CSV ---------------------------------------------------------------------------


def csv_header() -> str:
    names = list(FIELD_NAMES)
    names.insert(NSTATIC, "-")
    return "# " + "".join(f"{name}," for name in names) + "\n"


def csv_cell(item: Field | None) -> str:
    if item is None:
        return ""
    if item.type != "str":
        return str(item.value)
    text = str(item.value)
    if any(c in text for c in '\n\r,"'):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(row: StatRow) -> str:
    cells = [csv_cell(item) for item in row.fields]
    cells.insert(NSTATIC, "-")
    return "".join(f"{cell}," for cell in cells) + "\n"


def render_csv(rows: list[StatRow]) -> str:
    return csv_header() + "".join(csv_line(row) for row in rows)


# -- typed -------------------------------------------------------------------------


def typed_value(item: Field) -> str:
    return f"{item.type}:{item.value}"


def render_typed(rows: list[StatRow], desc: bool = False) -> str:
    out = []
    for row in rows:
        kind, obj = KIND_OF_TYPE[row.type], row.obj
        for position, item in enumerate(row.fields):
            if item is None:
                continue
            name = FIELD_NAMES[position]
            line = f"{kind}.{obj.iid}.{obj.sid}.{position}.{name}.1:{item.tag}:{typed_value(item)}"
            out.append(line + (f':"{DESCRIPTION[name]}"' if desc else "") + "\n")
    return "".join(out)


# -- JSON --------------------------------------------------------------------------


def json_tags(item: Field) -> str:
    origin, nature, scope = item.tag
    return (f'"tags":{{"origin":"{ORIGINS.get(origin, "Unknown")}","nature":"{NATURES.get(nature, "Unknown")}",'
            f'"scope":"{SCOPES.get(scope, "Unknown")}"}}')  # fmt: skip


def json_value(item: Field) -> str:
    if item.type == "str":
        return f'"value":{{"type":"str","value":{json.dumps(str(item.value), ensure_ascii=False)}}}'
    return f'"value":{{"type":"{item.type}","value":{item.value}}}'


def render_json(rows: list[StatRow]) -> str:
    parts = []
    for row in rows:
        obj, obj_type = row.obj, OBJ_TYPE_NAMES[KIND_OF_TYPE[row.type]]
        items = []
        for position, item in enumerate(row.fields):
            if item is None:
                continue
            items.append(f'{{"objType":"{obj_type}","proxyId":{obj.iid},"id":{obj.sid},'
                         f'"field":{{"pos":{position},"name":"{FIELD_NAMES[position]}"}},"processNum":1,'
                         f"{json_tags(item)},{json_value(item)}}}")  # fmt: skip
        parts.append("[" + ",".join(items) + "]")
    return "[" + ",".join(parts) + "]\n"


def render_stat(rows: list[StatRow], flt: StatFilter) -> str:
    rows = select(rows, flt)
    if flt.hide_down or flt.hide_maint:
        rows = [with_server_counts(row) if row.obj.kind == "B" else row for row in rows]
    if flt.fmt == "typed":
        return render_typed(rows, flt.desc)
    if flt.fmt == "json":
        return render_json(rows)
    return render_csv(rows)


# -- show info ---------------------------------------------------------------------


def render_info(info: dict[str, Field], fmt: str = "text", desc: bool = False) -> str:
    """`show info [typed|json] [desc]`: the fields lb fills, in HAProxy's order."""
    present = [(position, name, info[name]) for position, name in enumerate(INFO_NAMES) if name in info]
    if fmt == "typed":
        return "".join(f"{position}.{name}.1:{item.tag}:{typed_value(item)}"
                       + (f':"{INFO_FIELDS[position][2]}"' if desc else "") + "\n"
                       for position, name, item in present)  # fmt: skip
    if fmt == "json":
        items = [f'{{"field":{{"pos":{position},"name":"{name}"}},"processNum":1,{json_tags(item)},{json_value(item)}}}'
                 for position, name, item in present]  # fmt: skip
        return "[" + ",".join(items) + "]\n"
    return "".join(f"{name}: {csv_cell(item)}"
                   + (f':"{INFO_FIELDS[position][2]}"' if desc else "") + "\n"
                   for position, name, item in present)  # fmt: skip
