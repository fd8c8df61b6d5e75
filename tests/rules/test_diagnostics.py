"""Config diagnostics of the mode http keywords: the same lines as `haproxy -c` (2.6.12).

parity/diagnostics-2.6.json was recorded by running haproxy -c on each small
configuration (acl, http-request/http-response, redirect, capture, cookie,
option forwardfor, bind ssl, tcp-mode and defaults cases); lb must print the
same ALERT and WARNING lines.  Deliberate differences are tested below.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lb.config
from lb.config.diagnostics import format_diagnostic
from tests.rules.helpers import load, messages

GOLDEN = json.loads((Path(__file__).parent / "parity" / "diagnostics-2.6.json").read_text())["cases"]


def lines_of(config) -> list[str]:
    out = []
    for d in config.diagnostics:
        if d.severity in ("ALERT", "WARNING") and not d.message.startswith(("Error(s) found", "Fatal errors")):
            out.append(f"{d.severity} " + format_diagnostic(d, 1).split(" : config : ", 1)[1].rstrip("\n"))
    return out


@pytest.mark.parametrize("case", GOLDEN, ids=[c["config"].split("\n")[7].strip()[:60] for c in GOLDEN])
def test_same_lines_as_haproxy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: dict) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.cfg").write_text(case["config"])
    assert lines_of(lb.config.load("t.cfg")) == case["expected"]


def test_unknown_action_lists_what_lb_supports(tmp_path: Path) -> None:
    config = load(tmp_path, "frontend fe\n    http-request nosuchaction\n")
    assert messages(config, "ALERT")[0] == (
        f"parsing [{tmp_path}/t.cfg:7]: 'http-request' expects 'add-header', 'allow', 'auth', 'capture', 'del-header', "
        "'deny', 'redirect', 'reject', 'replace-header', 'replace-value', 'return', 'sc-inc-gpc*', 'sc-set-gpt*', "
        "'set-header', 'set-method', 'set-path', 'set-pathq', 'set-query', 'set-uri', 'silent-drop', 'tarpit', "
        "'track-sc*', 'use-service', 'set-var-fmt(*)', 'set-var(*)', 'unset-var(*)', but got "
        "'nosuchaction'.")  # fmt: skip


@pytest.mark.parametrize("line,message", [
    ("http-request set-src src", "'http-request set-src' is not supported by lb."),
    ("http-request set-var(txn.x,ifempty) path", "error detected in frontend 'fe' while parsing "
     "'http-request set-var(txn.x,ifempty)' rule : set-var conditions ('ifempty') are not supported by lb."),
    ("http-response set-path /x", None),
    ("http-request return errorfiles myerrors", "unknown http-errors section 'myerrors' referenced by an http reply."),
])  # fmt: skip
def test_unsupported_haproxy_features_are_named(tmp_path: Path, line: str, message: str | None) -> None:
    config = load(tmp_path, f"frontend fe\n    {line}\n")
    alerts = [d.message for d in config.alerts]
    if message is None:
        assert "'http-response' expects" in alerts[0]
    else:
        assert alerts[0] == message


def test_bind_certificate_errors(tmp_path: Path) -> None:
    # HAProxy prefixes these with "'bind <addr>' in section 'frontend' : " (printed by kw_proxy's bind parser)
    config = load(tmp_path, "frontend fe\n    bind 127.0.0.1:19443 ssl crt /nonexist.pem\n")
    assert [d.message for d in config.alerts][0].endswith(
        "unable to stat SSL certificate from file '/nonexist.pem' : No such file or directory.")
    config = load(tmp_path, "frontend fe\n    bind 127.0.0.1:19443 ssl crt x ssl-min-ver TLSv1.9\n")
    assert any("unknown ssl/tls version" in d.message or "unable to stat" in d.message for d in config.alerts)


def test_acl_in_anonymous_defaults(tmp_path: Path) -> None:
    config = load(tmp_path, "    acl x path /a\n    http-request deny if x\n")
    assert messages(config, "ALERT")[:2] == [
        f"parsing [{tmp_path}/t.cfg:6] : 'acl' not allowed in anonymous 'defaults' section.",
        f"parsing [{tmp_path}/t.cfg:7] : 'http-request' not allowed in anonymous 'defaults' section.",
    ]
