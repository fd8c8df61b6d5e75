"""Logging keywords: what `log` lines become, and diagnostics identical to `haproxy -c` 2.6."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from lb.config import parser
from lb.config.diagnostics import diagnostic_lines
from lb.config.model import Config
from lb.logs.logformat import HTTPLOG, TCPLOG, TCPLOG_CLF
from lb.logs.model import SyslogTarget, area_of
from tests.logs.recorded import RECORDED

DEFAULTS = "defaults\n    timeout connect 1s\n    timeout client 5s\n    timeout server 5s\n"


def load(tmp_path: Path, text: str, name: str = "lb.cfg") -> Config:
    path = tmp_path / name
    path.write_text(text)
    cwd = os.getcwd()
    os.chdir(tmp_path)  # diagnostics name the file as given, like the recording
    try:
        return parser.parse_files([name])
    finally:
        os.chdir(cwd)


def stderr_of(config: Config) -> list[str]:
    lines = diagnostic_lines(config, 4242)
    return [line.replace("(4242)", "(PID)") for line in lines if "[NOTICE]" not in line]


@pytest.mark.parametrize("name", ["log_keyword_errors", "format_warnings"])
def test_diagnostics_match_haproxy(tmp_path: Path, name: str) -> None:
    check = RECORDED["checks"][name]
    assert stderr_of(load(tmp_path, check["config"], f"{name}.cfg")) == check["stderr"]


def test_format_errors_match_haproxy_but_http_aliases_in_tcp_only_warn(tmp_path: Path) -> None:
    """HAProxy 2.6 refuses %HM in a tcp frontend; lb warns (HAProxy >= 2.9's wording) and keeps going."""
    check = RECORDED["checks"]["format_errors"]
    ours = stderr_of(load(tmp_path, check["config"], "format_errors.cfg"))
    expected = [line for line in check["stderr"] if "reserved for HTTP mode" not in line]
    warnings = [line for line in ours if line.startswith("[WARNING]")]
    assert [line for line in ours if not line.startswith("[WARNING]")] == expected
    assert warnings == [
        "[WARNING]  (PID) : config : parsing [format_errors.cfg:38]: format alias 'HM' used from frontend 'f8' "
        "may not work as expected (item depends on HTTP proxy mode).",
        "[WARNING]  (PID) : config : parsing [format_errors.cfg:38]: format alias 'r' used from frontend 'f8' "
        "may not work as expected (item depends on HTTP proxy mode).",
    ]


def one_target(tmp_path: Path, line: str) -> SyslogTarget:
    config = load(tmp_path, f"global\n    {line}\n")
    assert not config.alerts, [d.message for d in config.alerts]
    (target,) = config.global_.logs
    assert isinstance(target, SyslogTarget)
    return target


@pytest.mark.parametrize(("line", "expected"), [
    ("log 127.0.0.1 local0", dict(kind="udp", host="127.0.0.1", port=514, facility="local0", level="debug",
                                  minlevel="emerg", format="local", length=1024, format_explicit=False)),
    ("log 127.0.0.1:5514 len 2048 format rfc5424 local3 notice err",
     dict(kind="udp", port=5514, length=2048, format="rfc5424", format_explicit=True, facility="local3",
          level="notice", minlevel="err")),
    ("log udp@[::1]:1514 daemon", dict(kind="udp", host="::1", port=1514, family=socket.AF_INET6)),
    ("log ipv4@127.0.0.2 user info", dict(kind="udp", host="127.0.0.2", port=514, level="info")),
    ("log /dev/log local0", dict(kind="unix", path="/dev/log")),
    ("log unix@/run/syslog.sock local0", dict(kind="unix", path="/run/syslog.sock")),
    ("log stdout format raw daemon", dict(kind="fd", fd=1, format="raw")),
    ("log stderr format short daemon", dict(kind="fd", fd=2, format="short")),
    ("log fd@3 local0", dict(kind="fd", fd=3)),
    ("log 127.0.0.1 sample 1-2,5:6 local0", dict(sample_ranges=((1, 2), (5, 5)), sample_size=6)),
])
def test_log_targets(tmp_path: Path, line: str, expected: dict) -> None:
    target = one_target(tmp_path, line)
    assert {key: getattr(target, key) for key in expected} == expected


@pytest.mark.parametrize(("line", "message"), [
    ("log ring@buf local0", "log : 'ring@buf' : lb sends logs to UDP syslog servers, unix datagram sockets and "
                            "file descriptors only; ring buffers and stream targets are not supported"),
    ("log tcp@127.0.0.1:514 local0", "log : 'tcp@127.0.0.1:514' : lb sends logs"),
    ("log 127.0.0.1 sample 2-1:4 local0", "log : wrong sample range '2-1'"),
    ("log 127.0.0.1 sample 1-2 local0", "log : Missing sample size"),
    ("log 127.0.0.1 sample 1-5:4 local0", "log : sample size 4 should be greater or equal to 5"),
    ("log 127.0.0.1 sample 1-2,2-3:4 local0", "log : ranges are overlapping"),
    ("log 127.0.0.1 len 100", "log : unknown log facility ''"),
])
def test_log_target_errors(tmp_path: Path, line: str, message: str) -> None:
    config = load(tmp_path, f"global\n    {line}\n")
    assert config.alerts[0].message.startswith(message)


def frontend(config: Config, name: str = "fe"):  # noqa: ANN201
    return config.frontends[name]


def test_log_global_copies_once_and_no_log_clears(tmp_path: Path) -> None:
    config = load(tmp_path, "global\n    log 127.0.0.1:1 local0\n    log 127.0.0.1:2 local1\n" + DEFAULTS
                  + "    log global\nfrontend fe\n    bind :8000\n    log global\n    log 127.0.0.1:3 local2\n"
                  "frontend quiet\n    bind :8001\n    no log\n")
    ports = [t.port for t in frontend(config).log.targets]  # type: ignore[attr-defined]
    assert ports == [1, 2, 3] and frontend(config).log.use_global
    assert frontend(config, "quiet").log.targets == [] and not frontend(config, "quiet").log.use_global


def test_formats_styles_and_tags(tmp_path: Path) -> None:
    config = load(tmp_path, "global\n    log-tag gtag\n    log-send-hostname myhost\n" + DEFAULTS
                  + "    mode http\n    option httplog\n"
                  "frontend fe\n    bind :8000\n    log 127.0.0.1 local0\n    log-tag ptag\n"
                  '    log-format-sd [x@1\\ a=\\"%ci\\"]\n'

                  "frontend tcp\n    mode tcp\n    bind :8001\n    log 127.0.0.1 local0\n    option tcplog clf\n"
                  "frontend plain\n    bind :8002\n    log 127.0.0.1 local0\n    no option dontlog-normal\n")
    assert not config.alerts and not config.warnings, [d.message for d in config.diagnostics]
    fe, tcp = frontend(config), frontend(config, "tcp")
    assert (fe.log.style, fe.log.format, area_of(fe).tag) == ("httplog", HTTPLOG, "ptag")
    assert area_of(fe).compiled.text == HTTPLOG and area_of(fe).compiled_sd.text == '[x@1 a="%ci"]'
    assert (tcp.log.style, area_of(tcp).compiled.text) == ("tcplog clf", TCPLOG_CLF)
    assert config.global_.log_tag == "gtag" and config.global_.extras["log_send_hostname"] == "myhost"
    assert frontend(config, "plain").option("dontlog-normal") is False


def test_httplog_in_tcp_falls_back_and_compiles_tcplog(tmp_path: Path) -> None:
    config = load(tmp_path, DEFAULTS + "frontend fe\n    mode tcp\n    bind :8000\n    log 127.0.0.1 local0\n"
                  "    option httplog\n")
    assert area_of(frontend(config)).compiled.text == TCPLOG
    assert [d.message for d in config.warnings] == [
        "'option httplog' not usable with frontend 'fe' (needs 'mode http'). Falling back to 'option tcplog'."]


def test_no_format_means_connect_line_and_no_targets_means_nothing(tmp_path: Path) -> None:
    config = load(tmp_path, DEFAULTS + "frontend fe\n    bind :8000\n    log 127.0.0.1 local0\n"
                  "frontend off\n    bind :8001\n")
    assert area_of(frontend(config)).accept_line and area_of(frontend(config)).compiled is None
    assert not area_of(frontend(config, "off")).accept_line


@pytest.mark.parametrize(("line", "message"), [
    ("no option httplog", "negation/default is not supported for option 'httplog'."),
    ("option httplog clf extra", "'option httplog' cannot handle unexpected argument 'extra'."),
    ("log-format a b", "log-format expects only one argument, don't forget to escape spaces!"),
    ("log-tag", "'log-tag' expects a tag for use in syslog."),
    ("option dontlog-normal x", "'option dontlog-normal' cannot handle unexpected argument 'x'."),
])
def test_proxy_keyword_errors(tmp_path: Path, line: str, message: str) -> None:
    config = load(tmp_path, DEFAULTS + f"frontend fe\n    bind :8000\n    {line}\n")
    assert [d.message for d in config.alerts][0] == message
