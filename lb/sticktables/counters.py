"""Stick counters: a session's or a request's tracked entries, and what they count (worker).

HAProxy's `struct stkctr`: `track-sc<n>` makes entry n of a session (rules
of `tcp-request connection|session`) or of a stream (rules of `tcp-request
content`, `http-request`, `http-response`) point at a table entry, and the
engine's events then update every data type the table stores:

- tracking starts (stream_start_counters): conn_cur +1, conn_cnt +1,
  conn_rate +1, the entry's expiry is pushed back, a reference is held;
- an HTTP request (http_req_cnt, http_req_rate), an HTTP error: a 4xx
  response, a request denied or tarpitted, a bad request (http_err_*), a
  server failure: a 5xx other than 501 and 505 (http_fail_*);
- a session passes the `tcp-request session` rules (sess_cnt, sess_rate);
- bytes from and to the client (bytes_in_*, bytes_out_*);
- tracking ends (stream_store_counters): conn_cur -1, the reference is
  released, the entry's expiry is pushed back.

Writes go to this process's shard (`WRITER`, set by the master for each
worker before it forks: lb.sticktables.regions); `now` is
lb.sticktables.clock's.  A StkCtr is made once per tracking and holds the
entry's (position, claim) ref, so updates never look the key up again.
"""

from __future__ import annotations

from typing import Any

from lb.sticktables import clock, fast
from lb.sticktables.store import StickTable

WRITER = -1  # this process's shard in every table; -1 in processes that never track (master, cli)
NSTKCTR = 3

# StkCtr.flags (HAProxy's STKCTR_TRACK_*)
TRACK_CONTENT = 1  # tracked by a content rule (tcp-request content, http-request/response)
TRACK_BACKEND = 2  # tracked by a rule of a backend other than the frontend


class StkCtr:
    """One tracked entry: table, (pos, claim), key words and flags."""

    __slots__ = ("table", "pos", "claim", "key", "flags")

    def __init__(self, table: StickTable, pos: int, claim: int, key: tuple[int, ...], flags: int = 0) -> None:
        self.table, self.pos, self.claim, self.key, self.flags = table, pos, claim, key, flags

    def __repr__(self) -> str:
        return f"StkCtr({self.table.name!r}, pos={self.pos})"


def track(table: StickTable, key: tuple[int, ...], flags: int = 0, now: int | None = None,
          event: str = "track") -> StkCtr | None:  # fmt: skip
    """Find or create the entry of `key` and start tracking it (conn_cur, conn_cnt,
    conn_rate, a reference; `event` "track_http" also counts an HTTP request);
    None when the table is full."""
    if WRITER < 0:  # a shard index of -1 would write into the last shard's memory
        raise RuntimeError("stick tables are tracked in workers only (TableSet.set_writer was not called)")
    now = clock.now_ms() if now is None else now
    plans = table.plans
    plan = plans.get(event) or fast.plan(table, event)
    if table.kw == 1:
        ref = fast.track1(table, key[0], now, WRITER, plan)
    else:
        ref = table.get_or_create(key, now, WRITER)
        if ref is not None:
            fast.bump(table, ref[0], ref[1], WRITER, now, plan, 1, refs=1)
    if ref is None:
        return None
    return StkCtr(table, ref[0], ref[1], key, flags)


def release(ctr: StkCtr, now: int | None = None) -> None:
    """Tracking ends: conn_cur -1 (never below 0), reference released, expiry pushed back."""
    table = ctr.table
    fast.release(table, ctr.pos, ctr.claim, WRITER, clock.now_ms() if now is None else now,
                 table.offsets.get("conn_cur", 0))  # fmt: skip


def count(ctr: StkCtr, event: str, now: int, inc: int = 1) -> None:
    """`inc` more of an event (lb.sticktables.fast.EVENTS): the counters and rates the table stores."""
    plan = fast.plan(ctr.table, event)
    if not plan.empty:
        fast.bump(ctr.table, ctr.pos, ctr.claim, WRITER, now, plan, inc)


def http_request(ctr: StkCtr, now: int) -> None:
    count(ctr, "http_req", now)


def http_error(ctr: StkCtr, now: int) -> None:
    count(ctr, "http_err", now)


def http_failure(ctr: StkCtr, now: int) -> None:
    count(ctr, "http_fail", now)


def session(ctr: StkCtr, now: int) -> None:
    count(ctr, "sess", now)


def transferred(ctr: StkCtr, bytes_in: int, bytes_out: int, now: int) -> None:
    if bytes_in:
        count(ctr, "bytes_in", now, bytes_in)
    if bytes_out:
        count(ctr, "bytes_out", now, bytes_out)


def inc_gpc(ctr: StkCtr, which: int, now: int) -> int | None:
    """sc-inc-gpc0/1 and sc_inc_gpc0(): gpc<n>_rate +1, gpc<n> +1; the new gpc value
    (or the rate's current-period count when only the rate is stored); None when neither is."""
    table, name = ctr.table, f"gpc{which}"
    rate = name + "_rate"
    if name not in table.offsets and rate not in table.offsets:
        return None
    count(ctr, name, now)
    if name in table.offsets:
        return table.value(ctr.pos, ctr.claim, name, now)
    from lb.sticktables import freq

    return freq.merged(table.rate_parts(ctr.pos, ctr.claim, table.offsets[rate]), table.cfg.store[rate])[1]


def clear_gpc(ctr: StkCtr, which: int, now: int) -> int | None:
    """sc_clr_gpc0(): gpc<n> set to 0; its previous value (None when not stored)."""
    table, name = ctr.table, f"gpc{which}"
    if name not in table.offsets:
        return None
    previous = table.value(ctr.pos, ctr.claim, name, now)
    table.set_total(ctr.pos, ctr.claim, WRITER, name, 0, now)
    table.touch(ctr.pos, ctr.claim, WRITER, now)
    return previous


def set_gpt0(ctr: StkCtr, value: int, now: int) -> bool:
    table = ctr.table
    if "gpt0" not in table.offsets:
        return False
    table.set_last(ctr.pos, ctr.claim, WRITER, "gpt0", value & 0xFFFFFFFF)
    table.touch(ctr.pos, ctr.claim, WRITER, now)
    return True


def slots(holder: Any) -> list[StkCtr | None]:
    """The stick counters of a Txn or ConnFacts, created on first use."""
    ctrs = holder.stkctr
    if ctrs is None:
        ctrs = holder.stkctr = [None] * NSTKCTR
    return ctrs
