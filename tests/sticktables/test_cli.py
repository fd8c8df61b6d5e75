"""show table / clear table / set table: HAProxy 2.6's answers, byte for byte (lb.sticktables.cli).

The expected texts were read from a real haproxy 2.6.12 stats socket given
the same tables and commands (entry addresses aside: HAProxy prints a
pointer, lb a stand-in of the same shape).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lb.sticktables import cli
from tests.sticktables.helpers import fake_clock, load_tables

STORE = "http_req_rate(10s),conn_cur,gpc0,http_req_cnt,bytes_in_cnt,server_id,gpt0"
TABLES = f"""
frontend fe
    bind :1
    stick-table type ip size 100 expire 30s store {STORE}
    default_backend st
backend st
    stick-table type string len 8 size 10 store gpc0,conn_rate(5s)
backend bi
    stick-table type binary len 6 size 10 store gpc0
backend in
    stick-table type integer size 10 store gpc0
backend v6
    stick-table type ipv6 size 10 store gpc0
"""
POINTER = re.compile(r"^0x[0-9a-f]+: ", re.M)


@pytest.fixture()
def tables(tmp_path: Path):
    _config, tables = load_tables(tmp_path, TABLES)
    with fake_clock():
        yield tables
    tables.close()


def run(tables, line: str, level: str = "admin") -> str:
    action, _table, *args = line.split()
    out = {"show": cli.show_table, "set": cli.set_table, "clear": cli.clear_table}[action](tables, args, level)
    return POINTER.sub("0xADDR: ", out)


def test_show_table_lists_every_table_last_declared_first(tables) -> None:
    assert run(tables, "show table") == ("# table: v6, type: ipv6, size:10, used:0\n"
                                         "# table: in, type: integer, size:10, used:0\n"
                                         "# table: bi, type: binary, size:10, used:0\n"
                                         "# table: st, type: string, size:10, used:0\n"
                                         "# table: fe, type: ip, size:100, used:0\n")  # fmt: skip


def test_set_then_show(tables) -> None:
    assert run(tables, "set table fe key 1.2.3.4 data.gpc0 5") == ""
    assert run(tables, "set table fe key 1.2.3.5 data.http_req_rate 7 data.gpt0 -1 data.server_id -3") == ""
    assert run(tables, "show table fe") == (
        "# table: fe, type: ip, size:100, used:2\n"
        "0xADDR: key=1.2.3.4 use=0 exp=30000 server_id=0 gpt0=0 gpc0=5 conn_cur=0 http_req_cnt=0 "
        "http_req_rate(10000)=0 bytes_in_cnt=0\n"
        "0xADDR: key=1.2.3.5 use=0 exp=30000 server_id=-3 gpt0=4294967295 gpc0=0 conn_cur=0 http_req_cnt=0 "
        "http_req_rate(10000)=7 bytes_in_cnt=0\n")  # fmt: skip
    assert run(tables, "show table fe key 1.2.3.5").count("\n") == 2
    assert run(tables, "show table fe key 1.2.3.9") == ""
    assert run(tables, "show table fe data.gpc0 gt 0").count("key=") == 1


def test_keys_parse_and_print_as_haproxy(tables) -> None:
    for line in ("set table st key abcdefghijkl data.gpc0 1", "set table in key 42 data.gpc0 1",
                 "set table in key 12abc data.gpc0 3", "set table v6 key ::1 data.gpc0 1",
                 "set table fe key 300.1.2.3 data.gpc0 1"):  # fmt: skip
        assert run(tables, line) == ""
    assert cli.set_table(tables, ["st", "key", "a=b c", "data.gpc0", "2"]) == ""  # the socket unescapes "a=b\ c"
    assert run(tables, "show table st") == ("# table: st, type: string, size:10, used:2\n"
                                            "0xADDR: key=a\\=b\\ c use=0 exp=0 gpc0=2 conn_rate(5000)=0\n"
                                            "0xADDR: key=abcdefgh use=0 exp=0 gpc0=1 conn_rate(5000)=0\n")  # fmt: skip
    assert run(tables, "show table in") == ("# table: in, type: integer, size:10, used:2\n"
                                            "0xADDR: key=12 use=0 exp=0 gpc0=3\n0xADDR: key=42 use=0 exp=0 gpc0=1\n")
    assert run(tables, "show table v6") == ("# table: v6, type: ipv6, size:10, used:1\n"
                                            "0xADDR: key=::1 use=0 exp=0 gpc0=1\n")
    assert "key=44.1.2.3 " in run(tables, "show table fe")


@pytest.mark.parametrize("line,answer", [
    ("show table nosuch", "No such table\n"),
    ("show table fe data.foo eq 0", "Filter entry #1: Unknown data type\n"),
    ("show table fe data.conn_rate eq 0", "Filter entry #1: Data type not stored in this table\n"),
    ("show table fe data.gpc0 xx 0",
     'Filter entry #1: Require and operator among "eq", "ne", "le", "ge", "lt", "gt"\n'),
    ("show table fe data.gpc0 eq x", "Filter entry #1: Require a valid integer value to compare against\n"),
    ("show table fe data.http_req_cnt gt 0 data.gpc0 eq 0 data.gpc0 eq 0 data.gpc0 eq 0 data.gpc0 eq 0",
     "Detected extra data in filter, 16th word of input, after '0'\n"),
    ("show table fe extra", 'Optional argument only supports "data.<store_data_type>" <operator> <value> and key '
                            '<key>\n'),
    ("set table bi key abc data.gpc0 1", "Inserting keys into tables of type other than ip, ipv6, string and integer "
                                         "is not supported\n"),
    ("set table in key 4294967296 data.gpc0 1", "Invalid key\n"),
    ("set table in key -1 data.gpc0 1", "Invalid key\n"),
    ("set table v6 key zz data.gpc0 1", "Invalid key\n"),
    ("set table fe key 1.2.3.9 gpc0 1", '"data.<type>" followed by a value expected\n'),
    ("set table fe key 1.2.3.9 data.foo 1", "Unknown data type\n"),
    ("set table fe key 1.2.3.9 data.conn_rate 1", "Data type not stored in this table\n"),
    ("set table fe key 1.2.3.9 data.gpc0", "Require a valid integer value to store\n"),
    ("set table fe key 1.2.3.9 data.gpc0 x", "Require a valid integer value to store\n"),
    ("set table fe key", "Key value expected\n"),
    ("set table", "Required arguments: <table> key <key> [data.<store_data_type> <value>]*\n"),
    ("set table fe data.gpc0 eq 1", 'content-based lookup is only supported with the "show" and "clear" actions\n'),
    ("clear table", 'Required arguments: <table> "data.<store_data_type>" <operator> <value> or <table> key <key>\n'),
    ("clear table fe key", "Key value expected\n"),
    ("clear table nosuch key 1", "No such table\n"),
    ("clear table fe data.gpc0", 'Filter entry #1: Require and operator among "eq", "ne", "le", "ge", "lt", "gt"\n'),
])  # fmt: skip
def test_errors(tables, line: str, answer: str) -> None:
    assert run(tables, line) == answer


def test_clear_by_key_and_by_filter(tables) -> None:
    for line in ("set table in key 1 data.gpc0 1", "set table in key 2 data.gpc0 5", "set table in key 3 data.gpc0 5"):
        run(tables, line)
    assert run(tables, "clear table in key 1") == ""
    assert run(tables, "clear table in data.gpc0 eq 5") == ""
    assert run(tables, "show table in") == "# table: in, type: integer, size:10, used:0\n"


def test_levels(tables) -> None:
    run(tables, "set table in key 42 data.gpc0 1")
    assert run(tables, "show table in", "user") == ("# table: in, type: integer, size:10, used:1\n"
                                                    "# contents not dumped due to insufficient privileges\n")
    for line in ("show table in key 42", "set table in key 43 data.gpc0 1", "clear table in key 42"):
        assert run(tables, line, "user") == "Permission denied\n"
    assert run(tables, "show table in key 42", "operator").count("key=42") == 1


def test_an_entry_in_use_is_not_cleared(tables) -> None:
    run(tables, "set table in key 7 data.gpc0 1")
    table = tables.get("in")
    pos, claim = table.lookup((7,), 10_000_000)
    table.hold(pos, claim, 0, +1)
    assert run(tables, "clear table in key 7") == "Entry currently in use, cannot remove\n"
    assert run(tables, "clear table in") == ""
    assert "key=7 use=1" in run(tables, "show table in")
