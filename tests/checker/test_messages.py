"""Health event texts, byte for byte HAProxy's (§1.5, src/check.c and src/server.c)."""

import io
import re

import pytest

from lb.checker import messages as m
from lb.checker import status as st
from lb.checker.report import report, stderr_line

REFUSED = m.CheckFacts(st.L4CON, 0, "Connection refused", 0)


def test_down_with_reason():
    msg = m.server_state("be", "s1", False, False, REFUSED, m.Census(1, 0))
    assert msg.text == ('Server be/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", '
                        'check duration: 0ms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, '
                        '0 remaining in queue.')
    assert (msg.stderr_level, msg.syslog_level) == ("WARNING", "alert")


def test_down_without_reason_when_log_health_checks_told_it():
    msg = m.server_state("bk_http", "web2", False, False, None, m.Census(1, 0))
    assert msg.text == ("Server bk_http/web2 is DOWN. 1 active and 0 backup servers left. 0 sessions active, "
                        "0 requeued, 0 remaining in queue.")


def test_up_with_code():
    facts = m.CheckFacts(st.L7OK, 200, "", 10)
    msg = m.server_state("rest", "local_5008", False, True, facts, m.Census(8, 0))
    assert msg.text == ("Server rest/local_5008 is UP, reason: Layer7 check passed, code: 200, check duration: "
                        "10ms. 8 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.")
    assert msg.syslog_level == "notice"


def test_backup_server_and_running_on_backup():
    facts = m.CheckFacts(st.L4OK, 0, "", 1)
    msg = m.server_state("mysql", "replica", True, True, facts, m.Census(0, 1))
    assert msg.text == ("Backup Server mysql/replica is UP, reason: Layer4 check passed, check duration: 1ms. "
                        "0 active and 1 backup servers online. Running on backup. 0 sessions requeued, "
                        "0 total in queue.")


def test_down_counts_sessions_and_queue():
    msg = m.server_state("be", "s", False, False, m.CheckFacts(st.L4TOUT, 0, "", 1000), m.Census(1, 0, 3, 0, 2))
    assert msg.text.endswith("reason: Layer4 timeout, check duration: 1000ms. 1 active and 0 backup servers "
                             "left. 3 sessions active, 0 requeued, 2 remaining in queue.")


@pytest.mark.parametrize("facts,health,text", [
    (m.CheckFacts(st.L7OK, 200, "", 1), 4,
     "Health check for server bk_http/web1 succeeded, reason: Layer7 check passed, code: 200, "
     "check duration: 1ms, status: 3/3 UP."),
    (REFUSED, 0,
     'Health check for server bk_http/web1 failed, reason: Layer4 connection problem, info: "Connection refused", '
     "check duration: 0ms, status: 0/2 DOWN."),
    (m.CheckFacts(st.L7STS, 503, "Service Unavailable", 2), 3,
     'Health check for server bk_http/web1 failed, reason: Layer7 wrong status, code: 503, '
     'info: "Service Unavailable", check duration: 2ms, status: 2/3 UP.'),
    (m.CheckFacts(st.L7OKC, 404, "", 2), 4,
     "Health check for server bk_http/web1 conditionally succeeded, reason: Layer7 check conditionally passed, "
     "code: 404, check duration: 2ms, status: 3/3 UP."),
])
def test_health_check_lines(facts, health, text):
    msg = m.health_check("bk_http", "web1", False, facts, health, 2, 3)
    assert msg.text == text
    assert (msg.stderr_level, msg.syslog_level) == ("WARNING", "notice")


def test_health_check_backup_and_drain():
    msg = m.health_check("be", "b1", True, m.CheckFacts(st.L4OK, 0, "", 0), 4, 2, 3, drain=True)
    assert msg.text.startswith("Health check for backup server be/b1 succeeded")
    assert msg.text.endswith("status: 3/3 DRAIN.")


def test_tcp_check_success_shows_code_zero_and_info():
    facts = m.CheckFacts(st.L7OK, 0, "(tcp-check)", 0)
    assert m.check_info(facts) == ', reason: Layer7 check passed, code: 0, info: "(tcp-check)", check duration: 0ms'


def test_negative_duration_is_not_shown():
    assert m.check_info(m.CheckFacts(st.L4OK, 0, "", -1)) == ", reason: Layer4 check passed"


def test_backend_down_texts():
    msg = m.backend_down("backend", "be")
    assert msg.text == "backend 'be' has no server available!"
    assert msg.syslog_text == "backend be has no server available!"
    assert (msg.stderr_level, msg.syslog_level) == ("ALERT", "emerg")
    assert m.backend_down("proxy", "lst").text == "proxy 'lst' has no server available!"


@pytest.mark.parametrize("raw,encoded", [("plain", "plain"), ('say "hi"', 'say \\"hi\\"'),
                                         ("a\r\nb", "a\\r\\nb"), ("\x01", "\\x01"), ("tab\t", "tab\\t")])
def test_info_is_ascii_encoded(raw, encoded):
    assert m.ascii_encode(raw) == encoded


@pytest.mark.parametrize("level,prefix", [("WARNING", "[WARNING]  (42) : "), ("ALERT", "[ALERT]    (42) : "),
                                          ("NOTICE", "[NOTICE]   (42) : ")])
def test_stderr_prefix_columns(level, prefix):
    assert stderr_line(level, "text", 42) == prefix + "text\n"


def test_report_writes_the_haproxy_line_and_calls_the_log_sink(monkeypatch):
    from lb.checker import report as rp

    sent = []
    monkeypatch.setattr(rp, "_log_sink", lambda proxy, level, text: sent.append((proxy, level, text)))
    out = io.StringIO()
    msg = m.backend_down("backend", "be")
    report(msg, "PROXY", stream=out)  # type: ignore[arg-type]
    assert re.fullmatch(r"\[ALERT\]    \(\d+\) : backend 'be' has no server available!\n", out.getvalue())
    assert sent == [("PROXY", "emerg", "backend be has no server available!")]
