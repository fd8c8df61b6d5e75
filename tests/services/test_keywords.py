"""The proxy `stats` keyword and `http-request use-service` (config parsing; unit).

Every message is HAProxy 2.6.12's, recorded with `haproxy -c` on the same
lines (and checked again against the installed haproxy when there is one):
lb's diagnostics for a file must be these lines, in this order.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

import lb.config
from lb.config.diagnostics import format_diagnostic
from lb.config.model import STATS_DEFAULT_REALM, STATS_DEFAULT_URI, Config
from lb.services.access import AuthAction
from lb.services.keywords import parse_refresh
from lb.services.prometheus import PrometheusExporter
from lb.services.registry import UseService, find_service
from lb.services.statspage import StatsPage

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
HEAD = """defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
"""

# Lines that HAProxy reports and keeps parsing after (its fatal "abort" cases are in BAD_RULES).
ERRORS = HEAD + """    stats admin if TRUE
    stats http-request deny
listen l1
    bind 127.0.0.1:19001
    stats
    stats foo
    stats uri
    stats realm
    stats auth
    stats scope
    stats refresh 10x
    stats admin
    stats admin foo
    stats admin if nosuchacl
    stats show-node bad!name
    stats show-desc
    stats auth a:b
    stats auth a:c
    stats refresh 99999999999
listen l3
    bind 127.0.0.1:19003
    stats http-request allow
    stats http-request deny
"""
ERRORS_EXPECTED = [
    "[ALERT]    (4242) : config : parsing [x.cfg:6]: 'stats admin' not allowed in 'defaults' section.",
    "[ALERT]    (4242) : config : parsing [x.cfg:7]: 'stats' not allowed in 'defaults' section.",
    "[ALERT]    (4242) : config : parsing [x.cfg:10]: missing keyword in 'stats', expects 'admin', 'uri', 'realm', "
    "'auth', 'scope', 'enable', 'hide-version', 'show-node', 'show-desc' or 'show-legends'.",
    "[ALERT]    (4242) : config : parsing [x.cfg:11]: unknown stats parameter 'foo', expects 'admin', 'uri', "
    "'realm', 'auth', 'scope', 'enable', 'hide-version', 'show-node', 'show-desc' or 'show-legends'.",
    "[ALERT]    (4242) : config : parsing [x.cfg:12] : 'uri' needs an URI prefix.",
    "[ALERT]    (4242) : config : parsing [x.cfg:13] : 'realm' needs an realm name.",
    "[ALERT]    (4242) : config : parsing [x.cfg:14] : 'auth' needs a user:password account.",
    "[ALERT]    (4242) : config : parsing [x.cfg:15] : 'scope' needs a proxy name.",
    "[ALERT]    (4242) : config : parsing [x.cfg:16]: unexpected character 'x' in argument to stats refresh interval.",
    "[ALERT]    (4242) : config : parsing [x.cfg:17] : 'stats admin' requires either 'if' or 'unless' followed by a "
    "condition.",
    "[ALERT]    (4242) : config : parsing [x.cfg:18] : 'stats admin' requires either 'if' or 'unless' followed by a "
    "condition.",
    "[ALERT]    (4242) : config : parsing [x.cfg:19] : error detected while parsing a 'stats admin' rule : no such "
    "ACL : 'nosuchacl'.",
    "[ALERT]    (4242) : config : parsing [x.cfg:20]: 'stats show-node' invalid node name - should be a stringwith "
    "digits(0-9), letters(A-Z, a-z), hyphen(-) or underscode(_).",
    "[WARNING]  (4242) : config : parsing [x.cfg:21]: 'show-desc' requires a parameter or 'desc' to be set in the "
    "global section.",
    "[WARNING]  (4242) : config : uri auth: ignoring duplicated user 'a'.",
    "[ALERT]    (4242) : config : parsing [x.cfg:24]: timer overflow in argument <99999999999> to stats refresh "
    "interval, maximum value is 2147483647 s (~68 years).",
    "[WARNING]  (4242) : config : parsing [x.cfg:28]: previous 'stats' action has no condition attached, further "
    "entries are NOOP.",
]
# Post-parse: only reached by HAProxy when parsing found nothing fatal.
CHECKS = HEAD + """listen l2
    mode tcp
    bind 127.0.0.1:19002
    stats enable
listen l3
    bind 127.0.0.1:19003
    stats http-request allow if TRUE
    stats realm foo
"""
CHECKS_EXPECTED = [
    "[WARNING]  (4242) : config : 'stats' statement ignored for proxy 'l2' as it requires HTTP mode.",
    "[ALERT]    (4242) : config : proxy 'l3': stats 'auth'/'realm' and 'http-request' can't be used at the same "
    "time.",
]
SERVICES = HEAD + """frontend f4
    bind 127.0.0.1:19004
    http-request use-service nosuch
    http-request use-service prometheus-exporter foo
    http-request use-service
    http-request use-service prometheus-exporter if { path /metrics }
"""
SERVICES_EXPECTED = [
    "[ALERT]    (4242) : config : parsing [x.cfg:8] : error detected in frontend 'f4' while parsing 'http-request "
    "use-service' rule : 'nosuch' unknown service name..",
    "[ALERT]    (4242) : config : parsing [x.cfg:9]: 'http-request use-service' expects either 'if' or 'unless' "
    "followed by a condition but found 'foo'.",
    "[ALERT]    (4242) : config : parsing [x.cfg:10] : error detected in frontend 'f4' while parsing 'http-request "
    "use-service' rule : 'use-service' expects a service name..",
]


def load(tmp_path: Path, text: str) -> Config:
    (tmp_path / "x.cfg").write_text(text)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        return lb.config.load("x.cfg")
    finally:
        os.chdir(cwd)


SUMMARY = ("found in config", "Fatal errors")  # the verdict lines after the diagnostics


def diagnostics(config: Config) -> list[str]:
    return [format_diagnostic(d, 4242) for d in config.diagnostics
            if "has no effect in lb" not in d.message and not any(s in d.message for s in SUMMARY)]


def haproxy_lines(tmp_path: Path, text: str) -> list[str]:
    """What the installed haproxy -c says about the same file, pid replaced."""
    (tmp_path / "x.cfg").write_text(text)
    done = subprocess.run([HAPROXY, "-c", "-f", "x.cfg"], cwd=tmp_path, capture_output=True, text=True, timeout=30)
    lines = [line for line in done.stderr.splitlines()
             if "[NOTICE]" not in line and not any(s in line for s in SUMMARY)]
    return [line.split(") : ", 1)[0].rsplit("(", 1)[0] + "(4242) : " + line.split(") : ", 1)[1] for line in lines]


@pytest.mark.parametrize("text,expected", [(ERRORS, ERRORS_EXPECTED), (CHECKS, CHECKS_EXPECTED),
                                           (SERVICES, SERVICES_EXPECTED)], ids=["parse", "checks", "use-service"])
def test_messages_are_haproxys(tmp_path: Path, text: str, expected: list[str]) -> None:
    assert diagnostics(load(tmp_path, text)) == expected


@pytest.mark.skipif(not os.access(HAPROXY, os.X_OK), reason="haproxy 2.6 is not installed")
@pytest.mark.parametrize("text,expected", [(ERRORS, ERRORS_EXPECTED), (CHECKS, CHECKS_EXPECTED),
                                           (SERVICES, SERVICES_EXPECTED)], ids=["parse", "checks", "use-service"])
def test_recorded_messages_still_haproxys(tmp_path: Path, text: str, expected: list[str]) -> None:
    said = haproxy_lines(tmp_path, text)
    if text is SERVICES:  # HAProxy stops at the first fatal use-service line: compare one line at a time
        for number, line in enumerate(expected):
            lines = text.splitlines()
            kept = "\n".join(lines[:7] + [lines[7 + number]]) + "\n"
            assert haproxy_lines(tmp_path, kept)[0].replace("x.cfg:8", f"x.cfg:{8 + number}") == line
        return
    assert said == expected


def test_defaults_and_haproxys_default_values(tmp_path: Path) -> None:
    config = load(tmp_path, HEAD + """    stats enable
    stats refresh 5s
frontend plain
    bind 127.0.0.1:1
backend own
    stats uri /own
listen listed
    bind 127.0.0.1:2
    stats scope .
    stats scope other
    stats scope other
    stats show-node
    stats show-desc lb in the lab
    stats hide-version
    stats show-legends
""")
    assert not config.alerts, diagnostics(config)
    inherited, own = config.frontends["plain"].stats, config.backends["own"].stats
    listed = config.backends["listed"].stats
    assert inherited is not None and (inherited.uri, inherited.refresh, inherited.realm) == (STATS_DEFAULT_URI, 5, None)
    assert isinstance(inherited.service, StatsPage)
    # a proxy's own `stats` line drops everything it inherited (HAProxy detaches from the defaults' uri_auth)
    assert own is not None and (own.uri, own.refresh) == ("/own", 0)
    assert listed is not None and listed.scopes == [".", "other"]
    assert (listed.show_node, listed.node, listed.show_desc, listed.desc) == (True, None, True, "lb in the lab")
    assert (listed.hide_version, listed.show_legends) == (True, True)


def test_auth_becomes_the_credentials_rule(tmp_path: Path) -> None:
    config = load(tmp_path, HEAD + """listen a
    bind 127.0.0.1:1
    stats auth admin:secret
    stats auth viewer
listen b
    bind 127.0.0.1:2
    stats auth admin:x
    stats realm Our\\ stats
listen c
    bind 127.0.0.1:3
    acl local src 127.0.0.1
    stats http-request allow if local
    stats http-request auth realm Lab unless local
    stats http-request deny
    stats admin if local
""")
    assert not config.alerts, diagnostics(config)
    a, b, c = (config.backends[name].stats for name in "abc")
    assert a is not None and b is not None and c is not None
    assert a.users == [("admin", "secret"), ("viewer", "")]
    (rule,) = a.http_rules
    assert isinstance(rule.action, AuthAction) and rule.action.realm == STATS_DEFAULT_REALM
    assert b.http_rules[0].action.realm == "Our stats"
    assert [r.action_name for r in c.http_rules] == ["allow", "auth", "deny"]
    assert c.http_rules[1].action.realm == "Lab" and len(c.admin_rules) == 1


def test_stats_http_request_refuses_other_actions(tmp_path: Path) -> None:
    config = load(tmp_path, HEAD + """listen a
    bind 127.0.0.1:1
    stats http-request set-header x y
    stats http-request auth realm
    stats http-request bogus
""")
    lines = diagnostics(config)
    assert lines[0].endswith("parsing [x.cfg:8] : 'stats http-request set-header' is not supported by lb (only "
                             "allow, deny and auth).")  # fmt: skip
    assert lines[1].endswith("parsing [x.cfg:9] : error detected in proxy 'a' while parsing 'http-request auth' "
                             "rule : missing realm value.")  # fmt: skip
    assert "parsing [x.cfg:10]: 'http-request' expects " in lines[2] and lines[2].endswith("but got 'bogus'.")


@pytest.mark.parametrize("text,seconds,warned", [("10", 10, False), ("10s", 10, False), ("2m", 120, False),
                                                 ("1h", 3600, False), ("1d", 86400, False), ("500ms", 1, False),
                                                 ("1500ms", 2, False), ("0", 0, False), ("10sx", 10, True)])
def test_refresh_delays_round_up_to_seconds(text: str, seconds: int, warned: bool) -> None:
    value, warning = parse_refresh(text)
    assert (value, warning is not None) == (seconds, warned)


@pytest.mark.parametrize("text,bad", [("", ""), ("x", "x"), ("10x", "x"), ("5u", "u")])
def test_refresh_errors(text: str, bad: str) -> None:
    with pytest.raises(ValueError, match=f"unexpected character '{bad}' in argument to stats refresh interval"):
        parse_refresh(text)


def test_use_service_is_a_final_verdict(tmp_path: Path) -> None:
    config = load(tmp_path, SERVICES.replace("    http-request use-service nosuch\n", "").replace(
        "    http-request use-service prometheus-exporter foo\n", "").replace("    http-request use-service\n", ""))
    assert not config.alerts, diagnostics(config)
    rule = config.frontends["f4"].areas["http"].request_rules[0]
    assert isinstance(rule.action, UseService) and rule.cond is not None
    outcome = rule.action(None)
    assert outcome is rule.action and outcome.kind == "service" and outcome.term == "LR"
    assert isinstance(outcome.service, PrometheusExporter) and outcome.service.log_name == "<PROMEX>"
    assert find_service("prometheus-exporter") is not None and find_service("nosuch") is None


def test_use_service_only_in_http_request(tmp_path: Path) -> None:
    config = load(tmp_path, HEAD + "frontend f\n    bind 127.0.0.1:1\n    http-response use-service "
                  "prometheus-exporter\n")  # fmt: skip
    (line,) = diagnostics(config)
    assert "'http-response' expects " in line and line.endswith("but got 'use-service'.")
