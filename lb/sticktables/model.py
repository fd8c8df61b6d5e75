"""Stick-table configuration model: what a `stick-table` line declares (all processes; standard library only).

HAProxy's `struct stktable` without its runtime part: the key type and
size, the table size, `expire`, `nopurge` and the stored data types with
their periods.  The shared-memory table (lb.sticktables.store) is built
from a TableConfig by the master before it forks a generation, and
attached to it as `TableConfig.store`, so rules compiled at parse time
reach the table through the config object they hold.

Data types are listed in HAProxy 2.6's enum order (STKTABLE_DT_*), which is
the order `show table` prints them in.  Kinds:
- "sint" / "uint" / "ull": a counter or value (printed %d / %u / %llu);
- "frqp": a frequency counter over a period (`conn_rate(10s)`);
- "dict": `server_key`, the name of the server an entry sticks to.
The array types of 2.6 (`gpt`, `gpc`, `gpc_rate`) are refused as not
supported by lb.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# (name, kind, takes a period argument) in STKTABLE_DT_* order
DATA_TYPES: tuple[tuple[str, str, bool], ...] = (
    ("server_id", "sint", False),
    ("gpt0", "uint", False),
    ("gpc0", "uint", False),
    ("gpc0_rate", "frqp", True),
    ("conn_cnt", "uint", False),
    ("conn_rate", "frqp", True),
    ("conn_cur", "uint", False),
    ("sess_cnt", "uint", False),
    ("sess_rate", "frqp", True),
    ("http_req_cnt", "uint", False),
    ("http_req_rate", "frqp", True),
    ("http_err_cnt", "uint", False),
    ("http_err_rate", "frqp", True),
    ("bytes_in_cnt", "ull", False),
    ("bytes_in_rate", "frqp", True),
    ("bytes_out_cnt", "ull", False),
    ("bytes_out_rate", "frqp", True),
    ("gpc1", "uint", False),
    ("gpc1_rate", "frqp", True),
    ("server_key", "dict", False),
    ("http_fail_cnt", "uint", False),
    ("http_fail_rate", "frqp", True),
)
DATA_KIND = {name: kind for name, kind, _p in DATA_TYPES}
DATA_ORDER = {name: index for index, (name, _k, _p) in enumerate(DATA_TYPES)}
TAKES_PERIOD = frozenset(name for name, _k, period in DATA_TYPES if period)
ARRAY_TYPES = ("gpt", "gpc", "gpc_rate")  # HAProxy 2.6 has them; lb refuses them by name
ALIASES = {"server_name": "server_key"}  # HAProxy's backwards-compatible name

# key types: keyword -> (sample type name, default key size in bytes, custom `len` allowed)
KEY_TYPES = {
    "ip": ("ipv4", 4, False),
    "ipv6": ("ipv6", 16, False),
    "integer": ("integer", 4, False),
    "string": ("string", 32, True),
    "binary": ("binary", 32, True),
}
MAX_SESS_STKCTR = 3  # track-sc0 .. track-sc2, as HAProxy's default build
FILTER_LEN = 4  # data filters of `show table` (STKTABLE_FILTER_LEN)


@dataclass
class TableConfig:
    """One stick table: declared in a proxy (named after it) or a peers section."""

    name: str
    key_type: str = ""  # one of KEY_TYPES
    key_size: int = 0  # bytes; for string, the length + 1 as HAProxy counts the NUL
    size: int = 0
    expire: int = 0  # ms; 0: entries never expire, only the oldest are purged when full
    nopurge: bool = False
    store: dict[str, int] = field(default_factory=dict)  # data type -> period in ms (0 when none)
    srvkey: str = "name"
    owner: str = ""  # "frontend 'fe'", "backend 'be'", "proxy 'x'" or "peers 'p'"
    proxy: str | None = None  # the proxy that declared it (None for a peers table)
    loc: Any = None
    store_rules: list[Any] = field(default_factory=list)  # backends whose stick rules use it
    # server_key is stored as a number: the names of the servers of those backends, numbered from 1
    server_names: dict[int, str] = field(default_factory=dict)
    server_ids: dict[str, int] = field(default_factory=dict)
    store_obj: Any = field(default=None, repr=False, compare=False)  # lb.sticktables.store.StickTable

    def name_server(self, name: str) -> int:
        """The number server_key stores for a server name (srvkey name)."""
        number = self.server_ids.get(name)
        if number is None:
            number = self.server_ids[name] = len(self.server_ids) + 1
            self.server_names[number] = name
        return number

    def stores(self, data_type: str) -> bool:
        return data_type in self.store

    def period(self, data_type: str) -> int:
        return self.store.get(data_type, 0)

    def data_in_order(self) -> list[str]:
        """Stored data types in HAProxy's enum order (how `show table` lists them)."""
        return sorted(self.store, key=DATA_ORDER.__getitem__)

    def geometry(self) -> tuple[Any, ...]:
        """What the shared-memory layout depends on: tables with the same geometry
        can take over each other's entries as they are."""
        return (self.key_type, self.key_size, self.size, tuple(sorted(self.store.items())))


TABLES_AREA = "stick_tables"  # Config.global_.extras key: name -> TableConfig, declaration order


def tables_of(config: Any) -> dict[str, TableConfig]:
    """The stick tables of a parsed configuration, by name (created on first use)."""
    tables = config.global_.extras.get(TABLES_AREA)
    if tables is None:
        tables = config.global_.extras[TABLES_AREA] = {}
    return tables
