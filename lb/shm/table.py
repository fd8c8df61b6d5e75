"""ShmTable: typed views on one generation's shared memory (master creates; children inherit by fork).

Each array of lb.shm.layout is exposed as a memoryview cast to its element
type, so `table.srv_up[i]` is a single typed read.  Who may write which
array is stated in the layout module; this class does not police it.
"""

from __future__ import annotations

import mmap
import time

from lb.shm import layout


class ShmTable:
    """One generation's shared region (anonymous mmap, created before fork)."""

    # the arrays of lb.shm.layout, as typed views (set in __init__ from the layout)
    srv_up: memoryview
    srv_status: memoryview
    srv_health: memoryview
    srv_code: memoryview
    srv_duration: memoryview
    srv_change: memoryview
    srv_checks: memoryview
    srv_downs: memoryview
    srv_downtime: memoryview
    srv_checking: memoryview
    srv_health_ack: memoryview
    srv_info: memoryview
    srv_admin: memoryview
    srv_weight: memoryview
    versions: memoryview
    srv_maxconn: memoryview
    srv_check_admin: memoryview
    srv_health_req: memoryview
    srv_shutdown: memoryview
    fe_disabled: memoryview
    fe_maxconn: memoryview
    control: memoryview
    sampled: memoryview
    be_change: memoryview
    be_downs: memoryview
    be_downtime: memoryview
    conns: memoryview
    queued: memoryview
    picks: memoryview
    beconn: memoryview
    bequeued: memoryview
    feconn: memoryview
    actconn: memoryview
    stats_ack: memoryview
    counters: memoryview
    carried: memoryview

    def __init__(self, generation: int, nslots: int, nservers: int, nbackends: int, nproxies: int,
                 nlisteners: int = 0) -> None:  # fmt: skip
        self.generation = generation
        self.nslots, self.nservers = nslots, nservers
        self.nbackends, self.nproxies, self.nlisteners = nbackends, nproxies, nlisteners
        self.nobjects = layout.object_count(nservers, nbackends, nproxies, nlisteners)
        self.checker_slot = nslots - 1  # layout.slot_count(): the workers, then the checker
        table, size = layout.offsets(nslots, nservers, nbackends, nproxies, nlisteners)
        self.size = size
        self.mm = mmap.mmap(-1, size, flags=mmap.MAP_SHARED | mmap.MAP_ANONYMOUS)
        self.buf = memoryview(self.mm)
        layout.HEADER.pack_into(
            self.mm, 0, layout.MAGIC, layout.MAJOR, layout.MINOR, generation,
            nslots, nservers, nbackends, nproxies, int(time.time() * 1000), nlisteners,
        )  # fmt: skip
        for name, (offset, fmt, count) in table.items():
            nbytes = count * _itemsize(fmt)
            setattr(self, name, self.buf[offset : offset + nbytes].cast(fmt))

    # -- header and process slots -----------------------------------------

    def check_header(self) -> None:
        magic, major, _minor, generation, *_ = layout.HEADER.unpack_from(self.mm, 0)
        if magic != layout.MAGIC or major != layout.MAJOR:
            raise RuntimeError(f"shared memory layout {major} is not {layout.MAJOR}")
        if generation != self.generation:
            raise RuntimeError("shared memory belongs to another generation")

    def set_slot(self, slot: int, pid: int, state: int) -> None:
        """Written by the process owning `slot` (or by the master before forking it)."""
        layout.SLOT.pack_into(self.mm, self._slot_offset(slot), pid, self.generation, _now_ms(), state)

    def heartbeat(self, slot: int) -> None:
        """Owner of `slot` proves it is alive (cheap: one u64 store)."""
        self._heartbeats[slot] = _now_ms()

    def slot(self, slot: int) -> tuple[int, int, int, int]:
        """(pid, generation, heartbeat_ms, state) of `slot`."""
        return layout.SLOT.unpack_from(self.mm, self._slot_offset(slot))

    def _slot_offset(self, slot: int) -> int:
        return layout.HEADER_SIZE + slot * layout.SLOT_SIZE

    @property
    def _heartbeats(self) -> memoryview:
        # The heartbeat is the u64 at offset 8 of every 32-byte slot: a
        # strided view over the slot area, cast to u64 (4 per slot).
        area = self.buf[layout.HEADER_SIZE : layout.HEADER_SIZE + self.nslots * layout.SLOT_SIZE].cast("Q")
        return area[1::4]

    def clear_worker_columns(self, slot: int) -> None:
        """Master, after a worker died: its connections and queue are gone."""
        for name, width in (("conns", self.nservers), ("queued", self.nservers), ("beconn", self.nbackends),
                            ("bequeued", self.nbackends), ("feconn", self.nproxies)):  # fmt: skip
            view = getattr(self, name)
            for i in range(slot * width, (slot + 1) * width):
                view[i] = 0
        self.actconn[slot] = 0

    # -- sums over worker columns -----------------------------------------

    # A column is a strided view (one element per slot), summed in C.

    def column(self, name: str, index: int) -> memoryview:
        """The cells of object `index` in every slot's row of array `name`."""
        width = {"conns": self.nservers, "queued": self.nservers, "picks": self.nbackends, "beconn": self.nbackends,
                 "bequeued": self.nbackends, "feconn": self.nproxies}[name]  # fmt: skip
        return getattr(self, name)[index::width]

    def server_conns(self, server: int) -> int:
        return sum(self.conns[server :: self.nservers])

    def server_queued(self, server: int) -> int:
        return sum(self.queued[server :: self.nservers])

    def backend_picks(self, backend: int) -> int:
        return sum(self.picks[backend :: self.nbackends])

    def proxy_conns(self, proxy: int) -> int:
        return sum(self.feconn[proxy :: self.nproxies])

    # -- object rows (lb.shm.layout "Objects") ------------------------------

    def frontend_obj(self, proxy: int) -> int:
        """Row of the frontend side of proxy `proxy` (index in Config.proxies())."""
        return proxy

    def server_obj(self, server: int) -> int:
        return self.nproxies + server

    def backend_obj(self, backend: int) -> int:
        """Row of the backend side of backend `backend` (index in Config.backends)."""
        return self.nproxies + self.nservers + backend

    def listener_obj(self, listener: int) -> int:
        """Row of listener `listener` (every bind of Config.frontends, in order)."""
        return self.nproxies + self.nservers + self.nbackends + listener

    def counter_cells(self, obj: int, name: str) -> memoryview:
        """The cells of one counter of object `obj` in every slot's row."""
        per_slot = self.nobjects * layout.NCOUNTERS
        return self.counters[obj * layout.NCOUNTERS + layout.COUNTER[name] :: per_slot]

    def carried_index(self, obj: int, name: str) -> int:
        return obj * layout.NCOUNTERS + layout.COUNTER[name]

    def sampled_index(self, obj: int, name: str) -> int:
        return obj * layout.NSAMPLED + layout.SAMPLE[name]

    def server_info(self, server: int) -> str:
        """The last check's info text of `server` (checker writes it with set_server_info)."""
        raw = bytes(self.srv_info[server * layout.INFO_SIZE : (server + 1) * layout.INFO_SIZE])
        return raw.split(b"\0", 1)[0].decode("utf-8", "replace")

    def set_server_info(self, server: int, text: str) -> None:
        """Checker only: store `text` (truncated on a character boundary, NUL padded)."""
        data = text.encode("utf-8")[: layout.INFO_SIZE - 1].decode("utf-8", "ignore").encode("utf-8")
        start = server * layout.INFO_SIZE
        self.srv_info[start : start + layout.INFO_SIZE] = data.ljust(layout.INFO_SIZE, b"\0")

    def counter(self, obj: int, name: str) -> int:
        """Sum of one counter of object `obj` over every slot, plus what earlier generations carried."""
        index, per_slot = layout.COUNTER[name], self.nobjects * layout.NCOUNTERS
        base = obj * layout.NCOUNTERS + index
        return sum(self.counters[base::per_slot]) + self.carried[base]

    def counter_index(self, slot: int, obj: int, name: str) -> int:
        """Index in `counters` of one (slot, object, counter) cell, for the slot's writer."""
        return (slot * self.nobjects + obj) * layout.NCOUNTERS + layout.COUNTER[name]

    def close(self) -> None:
        """Master, once no process of the generation is left."""
        for name, _fmt, _count in layout.arrays(self.nslots, self.nservers, self.nbackends, self.nproxies,
                                                self.nlisteners):  # fmt: skip
            getattr(self, name).release()
        try:
            self.buf.release()
            self.mm.close()
        except BufferError:  # a view is still held somewhere: the GC frees it later
            pass


def _itemsize(fmt: str) -> int:
    return {"B": 1, "H": 2, "I": 4, "Q": 8, "q": 8}[fmt]


def _now_ms() -> int:
    return int(time.monotonic() * 1000)

