"""Shared-memory layout of one stick table, and why it looks like this (master creates; workers attach by fork).

Standard library only.  One anonymous MAP_SHARED region per table and per
generation, created by the master before it forks the generation:

    header   8 x i64   magic | version | nshards | cap | row words | key words |
                       used (master: bit 0 carried shard, bit 1 admin shard) | stamp origin (ns)
    meta     nshards x 8 x i64     per shard: created | killed | purge cursor      writer: the shard's owner
    claims   nshards x cap x i64   per shard and position: who holds the position  writer: the shard's owner
    keys     nshards x cap x kw x u64  the key of the shard's claim there          writer: the shard's owner
    rows     nshards x cap x rw x i64  the shard's counters for the entry there    writer: the shard's owner

Shards: 0 .. nworkers-1 are the workers of the generation (slot order),
then `carried` (the previous generation's entries, written by the master at
reload) and `admin` (the runtime API's `set table` / `clear table`, written
by the master).  Every cell has exactly one writer: no lock anywhere.

            position p of a table of capacity cap (open addressing, linear probing)
            ┌──────────────────────────────┬─────────────────────────────┐
  shard 0   │ claim 0:p  key 0:p            │ row 0:p  tag exp refs data  │  worker 1
  shard 1   │ claim 1:p  key 1:p            │ row 1:p  tag exp refs data  │  worker 2
  carried   │ claim C:p  key C:p            │ row C:p  ...                │  master (reload)
  admin     │ claim A:p  key A:p            │ row A:p  ...                │  master (runtime API)
            └──────────────────────────────┴─────────────────────────────┘
             the newest claim of the column      rows tagged with that claim
             says which key lives at p           add up to the entry

Why this design.  HAProxy locks one table shared by its threads; lb's
workers are processes and design.md forbids cross-process locks.  So an
entry is split column-wise: every process counts into its own row, and a
read adds the rows up (counters and gauges add, rate counters add on a
common period grid (lb.sticktables.freq), "last value" data (gpt0,
server_id) take the value with the newest stamp, the expiry is the latest
one).  For one client whose connections land on different workers one
after another, the sum is exactly the table a single process would hold,
so a limit is exact across workers.

Which key lives at a position is decided by claims, not by a shared key
directory: a process that inserts a key writes a claim (a stamp from the
system-wide monotonic clock, its shard number, and a "live" bit) in its own
claim cell of the first free position of the key's probe sequence, with the
key beside it.  The newest claim of a column wins.  Removing an entry
(eviction, purge, `clear table`) is a newer claim without the live bit (a
tombstone) in the remover's own cell.  Rows carry the claim they belong to
(`tag`): a row whose tag is not the current claim is stale and reset by its
owner on its next write, so nobody ever clears another process's cells.
Two processes inserting at the very same moment may both claim; the newest
claim wins and the other process's first event for that key is lost.

Memory: cap is the power of two at or above 1.5 x size, so probe chains stay
short; pages of a shard are only allocated when written (an idle admin
shard costs nothing).

Reloads: a new generation gets new regions (its workers are other
processes); the master copies the live entries of the previous
generation's table into the `carried` shard when the table keeps its name
and key type (lb.sticktables.regions), before forking and again when the
old generation stops.

Multi-node (peers): a remote node's updates would be one more master-written
shard, like `carried` (README, "Scaling past one machine").
"""

from __future__ import annotations

from lb.sticktables.model import TableConfig

MAGIC = 0x4C42535449434B31  # "LBSTICK1"
VERSION = 1
HEADER_WORDS = 8
META_WORDS = 8
H_MAGIC, H_VERSION, H_NSHARDS, H_CAP, H_RW, H_KW, H_USED, H_ORIGIN = range(HEADER_WORDS)
M_CREATED, M_KILLED, M_CURSOR = range(3)
USED_CARRIED, USED_ADMIN = 1, 2

# row words
TAG, EXPIRE, REFS = 0, 1, 2
FIXED_ROW_WORDS = 3
# words per stored data kind: a counter; a rate (tick, curr, prev); a last value (stamp, value)
KIND_WORDS = {"uint": 1, "ull": 1, "frqp": 3, "last": 2}
# a value set, not added: the newest write wins (server_key holds the id of the server whose name it is)
LAST_VALUE_TYPES = ("gpt0", "server_id", "server_key")


def capacity(size: int) -> int:
    """Positions of a table of `size` entries: the power of two at or above 1.5 x size."""
    want = max(8, size + size // 2)
    return 1 << (want - 1).bit_length()


def key_words(cfg: TableConfig) -> int:
    return max(1, (cfg.key_size + 7) // 8)


def kind_of(name: str, kind: str) -> str:
    return "last" if name in LAST_VALUE_TYPES else kind


def row_offsets(cfg: TableConfig) -> tuple[dict[str, int], int]:
    """{data type: word offset in a row} and the row's size in words."""
    from lb.sticktables.model import DATA_KIND

    offsets, position = {}, FIXED_ROW_WORDS
    for name in cfg.data_in_order():
        offsets[name] = position
        position += KIND_WORDS[kind_of(name, DATA_KIND[name])]
    return offsets, position


def region_size(nshards: int, cap: int, rw: int, kw: int) -> int:
    words = HEADER_WORDS + nshards * META_WORDS + nshards * cap * (1 + kw + rw)
    return words * 8


def sections(nshards: int, cap: int, rw: int, kw: int) -> dict[str, tuple[int, int, str]]:
    """{name: (byte offset, element count, struct format)} of the region's arrays."""
    out, position = {}, 0
    for name, count, fmt in (("header", HEADER_WORDS, "q"), ("meta", nshards * META_WORDS, "q"),
                             ("claims", nshards * cap, "q"), ("keys", nshards * cap * kw, "Q"),
                             ("rows", nshards * cap * rw, "q")):  # fmt: skip
        out[name] = (position, count, fmt)
        position += count * 8
    return out
