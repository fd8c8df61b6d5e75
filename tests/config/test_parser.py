"""Parser behaviours that the file cases do not show well: several files,
fatal-error cap, phases, modifiers, pseudo-variables, defaults inheritance."""

from __future__ import annotations

from pathlib import Path

import pytest

import lb.config
from lb.config.model import Config


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def messages(config: Config) -> list[str]:
    return [d.message for d in config.diagnostics]


def test_each_file_with_errors_is_named_before_the_post_parse_checks(tmp_path: Path) -> None:
    first = write(tmp_path, "a.cfg", "frontend f\n bind 127.0.0.1:8000\n bogus_a\n default_backend nosuch\n")
    second = write(tmp_path, "b.cfg", "backend ok\n")
    third = write(tmp_path, "c.cfg", "backend b\n bogus_c\n")
    config = lb.config.load([first, second, third])
    got = [m.split("\n")[0] for m in messages(config)]
    assert got == [
        "unknown keyword 'bogus_a' in 'frontend' section",
        f"Error(s) found in configuration file : {first}",
        "unknown keyword 'bogus_c' in 'backend' section",
        f"Error(s) found in configuration file : {third}",
        "Proxy 'f': unable to find required default_backend: 'nosuch'.",
        "missing timeouts for frontend 'f'.",
        "Fatal errors found in configuration.",
    ]


def test_a_missing_file_does_not_stop_the_others(tmp_path: Path) -> None:
    good = write(tmp_path, "good.cfg", "frontend f\n bind 127.0.0.1:8000\n timeout client 1s\n")
    config = lb.config.load([str(tmp_path / "nope.cfg"), good])
    assert "f" in config.frontends
    assert messages(config) == [
        f"Cannot open configuration file/directory {tmp_path / 'nope.cfg'} : No such file or directory",
        "Fatal errors found in configuration.",
    ]


def test_sections_continue_across_files(tmp_path: Path) -> None:
    # like several -f: a file may go on with the section the previous one opened
    first = write(tmp_path, "a.cfg", "defaults\n timeout client 7s\n")
    second = write(tmp_path, "b.cfg", "frontend f\n bind 127.0.0.1:8000\n")
    config = lb.config.load([first, second])
    assert config.frontends["f"].timeouts.client == 7000


def test_fifty_lines_in_error_stop_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "many.cfg", "global\n" + "bogus\n" * 60)
    config = lb.config.load(path)
    alerts = [d for d in config.alerts if d.message.startswith("unknown keyword")]
    assert len(alerts) == 50
    stop = [d for d in config.alerts if d.message.startswith("too many fatal errors")]
    assert [(d.message, d.loc.line) for d in stop] == [("too many fatal errors (50), stopping now.", 52)]


def test_no_and_default_modifiers(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "m.cfg",
        "defaults\n option dontlognull\n timeout client 1s\n"
        "frontend f\n bind 127.0.0.1:8000\n no option dontlognull\n"
        "frontend g\n bind 127.0.0.1:8001\n",
    )
    config = lb.config.load(path)
    assert config.alerts == []
    assert not config.frontends["f"].option("dontlognull")
    assert config.frontends["g"].option("dontlognull")


def test_section_pseudo_variable(tmp_path: Path) -> None:
    path = write(tmp_path, "s.cfg", 'frontend f\n bind 127.0.0.1:8000\n use_backend "be_${.SECTION}"\nbackend be_f\n')
    config = lb.config.load(path)
    assert config.frontends["f"].use_backends[0].backend == "be_f"


def test_defaults_from_named_section(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "d.cfg",
        "defaults short\n timeout client 1s\ndefaults long\n timeout client 1h\n"
        "frontend a from short\n bind 127.0.0.1:8000\nfrontend b\n bind 127.0.0.1:8001\n"
        "frontend c from nosuch\n bind 127.0.0.1:8002\n",
    )
    config = lb.config.load(path)
    assert config.frontends["a"].timeouts.client == 1000
    assert config.frontends["b"].timeouts.client == 3_600_000  # the last defaults section
    assert "frontend 'c': unable to find defaults section 'nosuch'." in messages(config)


def test_timeouts_warn_when_suspiciously_small_or_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, "t.cfg", "frontend f\n bind 127.0.0.1:8000\n timeout client 30\n timeout server 1s\n")
    config = lb.config.load(path)
    assert messages(config) == [
        "'timeout client 30' in frontend 'f' is suspiciously small for a value in milliseconds. "
        "Please use an explicit unit ('30ms') if that was the intent.",
        "'timeout server' will be ignored because frontend 'f' has no backend capability",
    ]
    assert config.frontends["f"].timeouts.client == 30


def test_timeout_errors_use_haproxy_texts(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "t.cfg",
        "backend b\n timeout connect\n timeout connect 25d\n timeout connect 5s 6s\n timeout nope 1s\n",
    )
    assert messages(lb.config.load(path))[:4] == [
        "'timeout connect' expects an integer value (in milliseconds)",
        "timer overflow in argument '25d' to 'timeout connect' (maximum value is 2147483647 ms or ~24.8 days)",
        "'timeout connect' cannot handle unexpected argument '6s'.",
        "'timeout' supports 'client', 'server', 'connect', 'check', 'queue', 'http-keep-alive', 'http-request', "
        "'tunnel', 'tarpit', 'client-fin' and 'server-fin' (got 'nope')",
    ]


def test_a_post_parse_step_that_trips_over_a_broken_config_becomes_an_alert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lb.config import registry

    def fragile(config: Config) -> None:
        config.backends["be"].servers[0]  # noqa: B018  (assumes what failed to parse)

    steps = [*registry.REGISTRY.post_parse, (99, "tests.fragile", fragile)]
    monkeypatch.setattr(registry.REGISTRY, "post_parse", steps)
    broken = write(tmp_path, "broken.cfg", "backend be\n server s1 :80\n")
    config = lb.config.load(broken)
    assert "post-parse check 'tests.fragile' could not run on this configuration (IndexError(" in messages(config)[-2]
    clean = write(tmp_path, "clean.cfg", "backend be\n")
    with pytest.raises(IndexError):  # on a clean parse, a crashing step is a bug: it propagates
        lb.config.load(clean)
