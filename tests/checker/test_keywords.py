"""Check keywords in real config files: compiled programs, inheritance, and diagnostics with file:line."""

from lb.checker.model import KIND_HTTP, KIND_TCP, ConnectRule, ExpectRule, HttpSendRule, SendRule
from tests.checker.helpers import alerts, parse


def program(config, backend="be"):
    return config.backends[backend].areas["checks"].program


def kinds(config, backend="be"):
    return [type(rule).__name__ for rule in program(config, backend)]


def test_plain_check_is_one_implicit_connect(tmp_path):
    config = parse(tmp_path, "backend be\n  server s 127.0.0.1:80 check\n")
    (rule,) = program(config)
    assert isinstance(rule, ConnectRule) and rule.implicit and rule.default
    assert config.backends["be"].areas["checks"].kind is None


def test_redis_ping_program(tmp_path):
    config = parse(tmp_path, """backend be
  option tcp-check
  tcp-check send PING\\r\\n
  tcp-check expect string +PONG
  server r 127.0.0.1:6379 check
""")
    connect, send, expect = program(config)
    assert connect.implicit and send.data == b"PING\r\n" and expect.data == b"+PONG"
    assert (send.index, expect.index) == (0, 1)


def test_explicit_connect_first_means_no_implicit_one(tmp_path):
    config = parse(tmp_path, """backend be
  option tcp-check
  tcp-check comment "first"
  tcp-check connect port 6379 send-proxy
  tcp-check send PING\\r\\n
  server r 127.0.0.1:6379 check
""")
    connect, send = program(config)
    assert not connect.implicit and connect.port == 6379 and connect.send_proxy
    assert connect.comment == "first" and send.comment is None
    assert connect.index == 1  # comments count in HAProxy's step numbers


def test_comment_applies_to_following_rules_of_one_kind(tmp_path):
    config = parse(tmp_path, """backend be
  option tcp-check
  tcp-check comment "hello"
  tcp-check send a
  tcp-check send b
  tcp-check expect string x
  server r 127.0.0.1:1 check
""")
    _connect, first, second, expect = program(config)
    assert (first.comment, second.comment, expect.comment) == ("hello", "hello", None)


def test_first_step_must_be_connect(tmp_path):
    messages = alerts(tmp_path, """backend be
  option tcp-check
  tcp-check send PING
  tcp-check connect port 80
  server r 127.0.0.1:1 check
""")
    assert messages == ["'tcp-check connect' : first step MUST also be a 'connect', optionally preceded by a "
                        "'set-var', an 'unset-var' or a 'comment', when there is a 'connect' step in the "
                        "tcp-check ruleset."]


def test_error_carries_file_and_line(tmp_path):
    config = parse(tmp_path, "backend be\n  option tcp-check\n  tcp-check expect\n", allow_alerts=True)
    (alert, *_summaries) = config.alerts
    assert alert.loc.line == 9  # 6 lines of defaults, then the 3rd line of the backend
    assert alert.message == "'tcp-check expect' : expects at least a matching pattern as arguments."


def test_unknown_action(tmp_path):
    assert alerts(tmp_path, "backend be\n  tcp-check set-var(check.x) int(1)\n") == [
        "'tcp-check' only supports 'comment', 'connect', 'send', 'send-binary', 'expect'. but got "
        "'set-var(check.x)'"]


def test_httpchk_defaults(tmp_path):
    config = parse(tmp_path, "backend be\n  option httpchk\n  server w 127.0.0.1:80 check\n")
    connect, send, expect = program(config)
    assert connect.implicit
    assert isinstance(send, HttpSendRule) and (send.method, send.uri, send.version) == (None, None, None)
    assert isinstance(expect, ExpectRule) and expect.implicit and expect.codes == [(200, 399)]


def test_several_expects_are_chained(tmp_path):
    config = parse(tmp_path, """backend be
  option httpchk GET /ready
  http-check expect status 200
  http-check expect string status:ready
  server w 127.0.0.1:80 check
""")
    assert kinds(config) == ["ConnectRule", "HttpSendRule", "ExpectRule", "ExpectRule"]
    assert [rule.kind for rule in program(config)[2:]] == ["status", "string"]


def test_http_check_send_completes_the_option(tmp_path):
    config = parse(tmp_path, """backend be
  option httpchk GET /old
  http-check send uri /new hdr Host example.org
  server w 127.0.0.1:80 check
""")
    send = program(config)[1]
    assert (send.method, send.uri, send.headers) == ("GET", "/new", [("Host", "example.org")])


def test_option_after_send_overrides_its_fields(tmp_path):
    config = parse(tmp_path, """backend be
  http-check send meth HEAD uri /a
  option httpchk GET /b
  server w 127.0.0.1:80 check
""")
    send = program(config)[1]
    assert (send.method, send.uri) == ("GET", "/b")


def test_defaults_option_httpchk_is_kept_when_the_backend_adds_expects(tmp_path):
    config = parse(tmp_path, """defaults
  option httpchk GET /health
backend be
  http-check expect status 204
  server w 127.0.0.1:80 check
""", defaults=False)
    _connect, send, expect = program(config)
    assert (send.method, send.uri, expect.codes) == ("GET", "/health", [(204, 204)])


def test_backend_tcp_rules_replace_the_defaults_ones(tmp_path):
    config = parse(tmp_path, """defaults
  option tcp-check
  tcp-check send A
backend inherits
  server s 127.0.0.1:1 check
backend own
  tcp-check send B
  server s 127.0.0.1:1 check
""", defaults=False)
    assert [r.data for r in program(config, "inherits") if isinstance(r, SendRule)] == [b"A"]
    assert [r.data for r in program(config, "own") if isinstance(r, SendRule)] == [b"B"]
    assert config.backends["own"].areas["checks"].kind == KIND_TCP


def test_send_after_expect_needs_a_connect(tmp_path):
    assert alerts(tmp_path, """backend be
  option httpchk
  http-check send uri /a
  http-check expect status 200
  http-check send uri /b
""") == ["'http-check send' : unable to add http-check send rule at step 3 (missing connect rule)."]


def test_second_request_after_a_connect(tmp_path):
    config = parse(tmp_path, """backend be
  option httpchk
  http-check connect
  http-check send uri /a
  http-check expect status 200
  http-check connect port 8080
  http-check send uri /b
  server w 127.0.0.1:80 check
""")
    assert kinds(config) == ["ConnectRule", "HttpSendRule", "ExpectRule", "ConnectRule", "HttpSendRule",
                             "ExpectRule"]
    assert program(config)[-1].implicit and program(config)[3].port == 8080
    assert not program(config)[0].implicit


def test_a_later_connect_needs_a_connect_first(tmp_path):
    assert alerts(tmp_path, """backend be
  option httpchk
  http-check send uri /a
  http-check expect status 200
  http-check connect port 8080
""")[0].startswith("'http-check connect' : first step MUST also be a 'connect'")


def test_http_rules_without_httpchk_warn(tmp_path):
    config = parse(tmp_path, "backend be\n  http-check expect status 200\n  server w 127.0.0.1:80 check\n")
    assert [w.message for w in config.warnings] == [
        "backend 'be' uses http-check rules without 'option httpchk', so the rules are ignored."]
    assert config.backends["be"].areas["checks"].kind is None


def test_listen_section_is_called_proxy(tmp_path):
    config = parse(tmp_path, "listen lst\n  bind 127.0.0.1:8999\n  http-check expect status 200\n")
    assert "proxy 'lst' uses http-check rules" in config.warnings[0].message


def test_server_without_any_port(tmp_path):
    config = parse(tmp_path, "backend be\n  server s 127.0.0.1 check\n", allow_alerts=True)
    assert [a.message for a in config.alerts if a.loc] == ["backend 'be': server 's' has neither service port nor check port."]
    assert parse(tmp_path, "backend be\n  server s 127.0.0.1 check port 80\n").alerts == []
    assert parse(tmp_path, "backend be\n  option tcp-check\n  tcp-check connect port 80\n"
                           "  server s 127.0.0.1 check\n").alerts == []


def test_negated_option(tmp_path):
    config = parse(tmp_path, "defaults\n  option httpchk\nbackend be\n  no option httpchk\n"
                             "  server s 127.0.0.1:80 check\n", defaults=False)
    assert config.backends["be"].areas["checks"].kind is None
    assert parse(tmp_path, "backend be\n  option httpchk\n").backends["be"].areas["checks"].kind == KIND_HTTP


def test_disable_on_404_is_parsed_but_not_applied(tmp_path):
    config = parse(tmp_path, "backend be\n  option httpchk\n  http-check disable-on-404\n")
    assert any("'http-check disable-on-404' is parsed but not applied" in w.message for w in config.warnings)


def test_negated_expect_chain_restarts_at_the_negation(tmp_path):
    config = parse(tmp_path, """backend be
  option tcp-check
  tcp-check send INFO\\r\\n
  tcp-check expect ! string ERR
  tcp-check expect string role:master
  server r 127.0.0.1:1 check
""")
    _connect, _send, negated, positive = program(config)
    assert (negated.head, positive.head) == (2, 2)
