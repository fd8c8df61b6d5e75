"""A generation's shared memory and statistics without any process (tests only).

`generation(text)` parses a configuration and seeds a Generation exactly as
the master does (lb.generation.Generation.seed), without forking: the
tests then write shm fields as the workers, the checker and the master
would, and read what lb.stats makes of them.
"""

from __future__ import annotations

import time
from pathlib import Path

import lb.config
from lb.generation import Generation
from lb.stats.model import Facts, StatRow, stat_rows
from lb.stats.render import csv_line

BASE = """
global
    nbproc 2
    maxconn 1000
    stats socket {dir}/admin.sock level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
"""


def load(tmp_path: Path, body: str):
    path = tmp_path / "lb.cfg"
    path.write_text(BASE.format(dir=tmp_path) + body)
    config = lb.config.load([str(path)])
    assert not config.alerts, [d.message for d in config.alerts]
    return config


def generation(tmp_path: Path, body: str, previous: Generation | None = None, number: int = 1) -> Generation:
    gen = Generation(number, load(tmp_path, body), master_pid=1)
    gen.seed(previous)
    return gen


def rows(gen: Generation, legends: bool = True) -> dict[tuple[str, str], dict[str, str]]:
    """`show stat` of a generation as {(pxname, svname): {column: cell}}."""
    from lb.stats.fields import FIELD_NAMES

    out = {}
    for row in stat_rows(gen.config, gen.shm, Facts(time.time(), 1000, legends)):
        cells = csv_line(row).rstrip("\n").split(",")
        cells.pop(103)  # the `-` separator
        named = dict(zip(FIELD_NAMES, cells, strict=False))
        out[(named["pxname"], named["svname"])] = named
    return out


def stat(gen: Generation) -> list[StatRow]:
    return stat_rows(gen.config, gen.shm, Facts(time.time(), 1000, True))


def count(gen: Generation, slot: int, obj: int, name: str, amount: int) -> None:
    """Add to one counter of one worker's row, as that worker would."""
    gen.shm.counters[gen.shm.counter_index(slot, obj, name)] += amount
