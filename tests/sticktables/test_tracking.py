"""The engine's calls (lb.sticktables.tracking) without sockets: workers simulated by shard, a fake clock.

Each test runs the rules the way the worker will: the same Txn/ConnFacts
objects, the same order of calls (see the tracking module's docstring).
"""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from lb.rules import pipeline
from lb.rules.txn import ConnFacts, Txn
from lb.sticktables import cli, tracking
from tests.sticktables.helpers import as_worker, fake_clock, http_txn, load_tables

RATE_LIMIT = """
frontend fe
    bind :1
    stick-table type ip size 100 expire 30s store http_req_rate(10s),http_req_cnt,conn_cur,conn_cnt,http_err_cnt
    http-request track-sc0 src
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 3 }
    default_backend be
backend be
    server s1 127.0.0.1:2
"""


def request(config, src: str = "10.0.0.1", facts: ConnFacts | None = None) -> int:
    """One HTTP request through the rules: its status (200: went to the backend)."""
    txn = http_txn(config, src, facts=facts)
    tracking.http_request(txn)
    verdict = pipeline.request_phase(txn)
    if verdict is not None:
        tracking.http_error(txn) if verdict.kind in ("deny", "tarpit") else None
    tracking.stream_end(txn)
    return verdict.status if verdict is not None else 200


def test_a_rate_limit_is_exact_across_workers(tmp_path: Path) -> None:
    """New connections landing on alternate workers get exactly 3 requests per 10s."""
    config, tables = load_tables(tmp_path, RATE_LIMIT)
    with fake_clock() as clock:
        statuses = []
        for i in range(6):
            with as_worker(i % 2):
                statuses.append(request(config))
            clock.advance(10)
        assert statuses == [200, 200, 200, 429, 429, 429]
        clock.advance(20_000)  # two periods later the client is forgotten
        with as_worker(1):
            assert request(config) == 200
    tables.close()


def test_the_same_limit_in_one_worker_and_in_two_gives_the_same_answers(tmp_path: Path) -> None:
    config1, tables1 = load_tables(tmp_path, RATE_LIMIT, nworkers=1)
    (tmp_path / "two").mkdir()
    config2, tables2 = load_tables(tmp_path / "two", RATE_LIMIT, nworkers=2)
    pattern = [0, 5, 700, 2000, 6000, 9000, 9999, 10_000, 12_000, 15_000, 19_000, 21_000, 40_000]
    with fake_clock() as clock:
        start, one, two = clock.now, [], []
        for n, at in enumerate(pattern):
            clock.now = start + at
            with as_worker(0):
                one.append(request(config1))
            with as_worker(n % 2):
                two.append(request(config2))
    assert one == two
    tables1.close()
    tables2.close()


def test_show_table_counts_requests_errors_and_connections(tmp_path: Path) -> None:
    config, tables = load_tables(tmp_path, RATE_LIMIT)
    with fake_clock():
        with as_worker(0):
            for _ in range(5):
                request(config)
        txn = http_txn(config)
        with as_worker(1):
            pipeline.request_phase(txn)  # in flight: conn_cur 1, one reference
            out = cli.show_table(tables, ["fe"])
            tracking.stream_end(txn)
    line = out.splitlines()[1]
    assert line.split(": ", 1)[1] == ("key=10.0.0.1 use=1 exp=30000 conn_cnt=6 conn_cur=1 http_req_cnt=6 "
                                      "http_req_rate(10000)=6 http_err_cnt=2")  # fmt: skip
    assert out.splitlines()[0] == "# table: fe, type: ip, size:100, used:1"
    tables.close()


TCP = """
frontend fe
    mode tcp
    bind :1
    stick-table type ip size 100 expire 30s store conn_rate(10s),conn_cur,sess_cnt
    tcp-request connection track-sc1 src
    tcp-request connection reject if { sc1_conn_rate gt 2 }
    tcp-request connection reject if { src 10.9.9.9 }
    tcp-request session accept
    default_backend be
backend be
    mode tcp
    server s1 127.0.0.1:2
"""


def test_a_connection_rate_is_limited_exactly_across_workers(tmp_path: Path) -> None:
    config, tables = load_tables(tmp_path.joinpath(), TCP)
    fe = config.frontends["fe"]
    verdicts = []
    with fake_clock():
        for i in range(4):
            with as_worker(i % 2):
                facts = ConnFacts("10.0.0.1", 40000 + i, "127.0.0.1", 80)
                verdict = tracking.connection_accepted(fe, facts)
                verdicts.append(verdict)
                if verdict == tracking.ACCEPT:
                    assert tracking.session_started(fe, facts) == tracking.ACCEPT
                tracking.session_end(facts)
        assert tracking.connection_accepted(fe, ConnFacts("10.9.9.9", 1, "127.0.0.1", 80)) == tracking.REJECT
        line = cli.show_table(tables, ["fe"]).splitlines()[1]
    assert verdicts == ["accept", "accept", "reject", "reject"]
    assert line.endswith("key=10.0.0.1 use=0 exp=30000 conn_rate(10000)=4 conn_cur=0 sess_cnt=2")
    tables.close()


SNI = """
frontend fe
    mode tcp
    bind :1
    tcp-request inspect-delay 5s
    tcp-request content reject if { req.len gt 0 } !{ req.ssl_hello_type 1 }
    tcp-request content accept if { req_ssl_hello_type 1 }
    use_backend be_a if { req.ssl_sni -i a.example }
    default_backend be_other
backend be_a
    mode tcp
    server a 127.0.0.1:2
backend be_other
    mode tcp
    server o 127.0.0.1:3
"""


def hello(sni: str | None) -> bytes:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    conn = ctx.wrap_bio(incoming, outgoing, server_hostname=sni)
    with pytest.raises(ssl.SSLWantReadError):
        conn.do_handshake()
    return outgoing.read()


def route(config, data_parts: list[bytes], final_at_end: bool = False) -> tuple[list[str], str | None]:
    """Feed the parts one by one as the engine would; the verdicts and the backend chosen."""
    fe = config.frontends["fe"]
    txn = Txn(ConnFacts("10.0.0.1", 4000, "127.0.0.1", 443), None, fe)
    data, verdicts = b"", []
    for part in data_parts:
        data += part
        verdicts.append(tracking.content_rules(fe, txn, data, final=False))
        if verdicts[-1] != tracking.NEED_MORE:
            break
    if final_at_end and verdicts[-1] == tracking.NEED_MORE:
        verdicts.append(tracking.content_rules(fe, txn, data, final=True))
    if verdicts[-1] != tracking.ACCEPT:
        return verdicts, None
    backend = pipeline.select_backend(fe.areas["http"], txn)
    return verdicts, backend.name if backend else None


@pytest.mark.parametrize("sni,backend", [("a.example", "be_a"), ("A.EXAMPLE", "be_a"), ("b.example", "be_other"),
                                         (None, "be_other")])  # fmt: skip
def test_tls_is_routed_by_sni_case_insensitively(tmp_path: Path, sni: str | None, backend: str) -> None:
    config, tables = load_tables(tmp_path, SNI)
    assert route(config, [hello(sni)]) == (["accept"], backend)
    tables.close()


def test_a_split_hello_waits_for_its_last_segment(tmp_path: Path) -> None:
    config, tables = load_tables(tmp_path, SNI)
    data = hello("a.example")
    parts = [data[:3], data[3:60], data[60:-10], data[-10:]]
    verdicts, backend = route(config, parts)
    assert verdicts == ["need-more", "need-more", "need-more", "accept"] and backend == "be_a"
    tables.close()


def test_bytes_that_are_not_tls_are_rejected_at_once(tmp_path: Path) -> None:
    config, tables = load_tables(tmp_path, SNI)
    assert route(config, [b"GET / HTTP/1.1\r\n\r\n"]) == (["reject"], None)
    tables.close()


def test_a_client_silent_until_the_delay_goes_to_the_default_backend(tmp_path: Path) -> None:
    config, tables = load_tables(tmp_path, SNI)
    assert route(config, [b""], final_at_end=True) == (["need-more", "accept"], "be_other")
    tables.close()


def test_a_truncated_hello_at_the_deadline_is_not_tls(tmp_path: Path) -> None:
    config, tables = load_tables(tmp_path, SNI)
    assert route(config, [hello("a.example")[:100]], final_at_end=True) == (["need-more", "reject"], None)
    tables.close()


STICK = """
backend be
    mode tcp
    balance roundrobin
    stick-table type ip size 10 expire 30m
    stick on src
    server s1 127.0.0.1:2
    server s2 127.0.0.1:3
frontend fe
    mode tcp
    bind :1
    default_backend be
"""


def test_stick_on_src_sends_a_client_back_to_its_server(tmp_path: Path) -> None:
    config, tables = load_tables(tmp_path, STICK)
    be = config.backends["be"]
    s2 = be.servers[1]
    with fake_clock():
        with as_worker(0):
            txn = Txn(ConnFacts("10.0.0.7", 1, "127.0.0.1", 80), None, config.frontends["fe"])
            txn.backend = be
            assert tracking.choose_server(txn, be, lambda s: True) is None  # nothing known yet: balance
            tracking.server_connected(txn, s2)
        with as_worker(1):
            txn = Txn(ConnFacts("10.0.0.7", 2, "127.0.0.1", 80), None, config.frontends["fe"])
            txn.backend = be
            assert tracking.choose_server(txn, be, lambda s: True) is s2
            assert tracking.choose_server(txn, be, lambda s: s is not s2) is None  # down: balance again
        out = cli.show_table(tables, ["be"]).splitlines()
    assert out[1].split(": ", 1)[1] == "key=10.0.0.7 use=0 exp=1800000 server_id=2 server_key=s2"
    tables.close()


def test_use_server_forces_a_server_in_mode_tcp(tmp_path: Path) -> None:
    text = STICK.replace("    stick on src\n", "    use-server s2 if { src 10.0.0.0/8 }\n")
    config, tables = load_tables(tmp_path, text)
    be = config.backends["be"]
    txn = Txn(ConnFacts("10.0.0.7", 1, "127.0.0.1", 80), None, config.frontends["fe"])
    txn.backend = be
    assert tracking.choose_server(txn, be, lambda s: True) is be.servers[1]
    assert tracking.choose_server(txn, be, lambda s: False) is None
    tables.close()


GPC = """
frontend fe
    bind :1
    stick-table type ip size 10 expire 30s store gpc0,gpt0,http_req_cnt
    http-request track-sc0 src
    http-request sc-inc-gpc0(0) if { path /bad }
    http-request sc-set-gpt0(0) 42 if { path /tag }
    http-request deny if { sc0_get_gpc0 ge 2 }
    http-request set-header x-seen %[src_http_req_cnt]-%[sc0_get_gpt0]-%[table_cnt]-%[table_avl]
    default_backend be
backend be
    server s1 127.0.0.1:2
"""


def test_gpc_gpt_and_src_fetches(tmp_path: Path) -> None:
    config, tables = load_tables(tmp_path, GPC)
    with fake_clock(), as_worker(1):
        for path, expected in (("/tag", None), ("/bad", None), ("/ok", "3-42-1-9"), ("/bad", 403), ("/ok", 403)):
            txn = http_txn(config, path=path)
            verdict = pipeline.request_phase(txn)
            tracking.stream_end(txn)
            if expected == 403:
                assert verdict is not None and verdict.status == 403
            else:
                assert verdict is None
                if expected:
                    assert txn.request.header("x-seen") == expected
    tables.close()


def test_tarpit_is_a_verdict_the_engine_holds(tmp_path: Path) -> None:
    config, tables = load_tables(tmp_path, "frontend fe\n    bind :1\n    timeout tarpit 2s\n"
                                 "    http-request tarpit deny_status 429\n    default_backend be\n"
                                 "backend be\n    server s1 127.0.0.1:2\n")  # fmt: skip
    txn = http_txn(config)
    verdict = pipeline.request_phase(txn)
    assert (verdict.kind, verdict.status, verdict.term) == ("tarpit", 429, "PT")
    assert tracking.tarpit_delay(txn.frontend, txn.backend) == 2000
    assert b"429" in verdict.reply.render()
    tables.close()


def test_http_errors_count_4xx_and_failures_5xx_but_501_and_505(tmp_path: Path) -> None:
    config, tables = load_tables(tmp_path, RATE_LIMIT.replace("http_err_cnt", "http_err_cnt,http_fail_cnt"))
    with fake_clock(), as_worker(0):
        for status in (404, 500, 501, 505, 503, 200):
            txn = http_txn(config, src="10.0.0.2")
            pipeline.request_phase(txn)
            tracking.http_response(txn, status)
            tracking.stream_end(txn)
        line = cli.show_table(tables, ["fe"]).splitlines()[1]
    assert line.endswith("http_err_cnt=1 http_fail_cnt=2")
    tables.close()


def test_log_format_reads_stick_counters(tmp_path: Path) -> None:
    from lb.logs.record import LogRecord
    from lb.logs.samples import FETCHES

    config, tables = load_tables(tmp_path, RATE_LIMIT)
    with fake_clock(), as_worker(0):
        txn = http_txn(config)
        pipeline.request_phase(txn)
        record = LogRecord()
        record.rules_txn = txn
        assert FETCHES["sc_http_req_rate"][1](["0"])(record) == 1
        assert FETCHES["sc0_conn_cur"][1]([])(record) == 1
        record.rules_txn = None
        assert FETCHES["sc0_conn_cur"][1]([])(record) is None
        tracking.stream_end(txn)
    tables.close()
