"""HAProxy's command line as lb-haproxy parses it (unit: no process started)."""

from __future__ import annotations

import os

import pytest

from lb.haproxy_args import Usage, parse, program_name, usage_text, version_string, version_text
from lb.haproxy_args import expand_paths


def test_files_and_modes() -> None:
    args = parse(["-W", "-db", "-f", "a.cfg", "-f", "dir", "-p", "/run/lb.pid", "-q", "-L", "peer1"])
    assert args.files == ["a.cfg", "dir"]
    assert args.master_worker and args.foreground and args.quiet and not args.systemd
    assert args.pidfile == "/run/lb.pid" and args.local_peer == "peer1"


def test_systemd_mode_implies_master_worker_and_foreground() -> None:
    args = parse(["-Ws", "-f", "x"])
    assert args.master_worker and args.foreground and args.systemd


def test_old_pids_stop_at_the_next_flag() -> None:
    args = parse(["-f", "x", "-sf", "12", "34", "-q"])
    assert args.old_pids == [12, 34] and not args.old_pids_hard and args.quiet
    assert parse(["-st", "7", "-f", "x"]).old_pids_hard


def test_double_dash_ends_the_options() -> None:
    args = parse(["-c", "--", "a.cfg", "-b.cfg"])
    assert args.check and args.files == ["a.cfg", "-b.cfg"]


def test_numeric_options_read_like_atol() -> None:
    args = parse(["-n", "2000", "-N", "50x", "-m", "bad", "-f", "x"])
    assert (args.maxconn, args.maxpconn, args.memmax_mb) == (2000, 50, 0)


def test_internal_debug_flags_are_accepted() -> None:
    args = parse(["-dM", "-de", "-dV", "-dr", "-dW", "-dD", "-d", "-f", "x"])
    assert args.zero_warning and args.diag and args.debug
    assert args.ignored == ["-dM", "-de", "-dV", "-dr"]


def test_check_condition_takes_the_next_word() -> None:
    assert parse(["-cc", "version_atleast(2.4)"]).condition == "version_atleast(2.4)"
    with pytest.raises(Usage):
        parse(["-cc"])


def test_version_stops_the_parsing() -> None:
    assert parse(["-vv", "-zzz"]).version == 2
    assert parse(["-v"]).version == 1


@pytest.mark.parametrize("argv", [["-z"], ["-z", "value"], ["file.cfg"], ["-f"], ["-sf", "0"]])
def test_wrong_command_lines_are_usage_errors(argv: list[str]) -> None:
    with pytest.raises(Usage):
        parse(argv)


def test_missing_socket_path_has_haproxy_alert() -> None:
    with pytest.raises(Usage) as raised:
        parse(["-x"])
    assert raised.value.alert == "Unix socket path expected with the -x flag\n"


def test_bad_pid_list_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        parse(["-sf", "12x"])
    assert raised.value.code == 1
    assert "-sf option: some bytes unconsumed in PID list {12x}" in capsys.readouterr().err


def test_version_text_has_haproxys_shape() -> None:
    first = version_text(False).splitlines()[0]
    assert first.startswith(f"HAProxy version {version_string()} ")
    assert version_string().startswith("2.6.12-lb-")
    verbose = version_text(True)
    assert "Feature list : " in verbose and "+OPENSSL" in verbose and "-LUA" in verbose


def test_usage_names_the_program() -> None:
    assert usage_text("lb-haproxy").startswith("Usage : lb-haproxy [-f <cfgfile|cfgdir>]*")
    assert "-dK{class[,...]} dump registered keywords" in usage_text("x")
    assert program_name("/usr/local/bin/lb-haproxy") == "lb-haproxy"
    assert program_name("/x/lb/haproxy_cli.py") == "lb-haproxy"


def test_directories_give_their_cfg_files_in_lexical_order(tmp_path) -> None:
    conf = tmp_path / "conf.d"
    conf.mkdir()
    for name in ("b.cfg", "a.cfg", "B.cfg", ".hidden.cfg", "c.cfgx", "d.cfg.cfg", "notes.txt"):
        (conf / name).write_text("")
    (conf / "sub.cfg").mkdir()
    single = tmp_path / "main.cfg"
    single.write_text("")
    paths = expand_paths([str(single), str(conf)])
    assert [os.path.basename(p) for p in paths] == ["main.cfg", "B.cfg", "a.cfg", "b.cfg"]


def test_a_missing_file_is_haproxys_error(tmp_path) -> None:
    with pytest.raises(OSError) as raised:
        expand_paths([str(tmp_path / "nope.cfg")])
    missing = tmp_path / "nope.cfg"
    assert str(raised.value) == f"Cannot open configuration file/directory {missing} : No such file or directory"


def test_dash_d_s_disables_splicing_as_global_nosplice() -> None:
    from lb.config.model import Config
    from lb.haproxy_master import apply_overrides

    args = parse(["-dS", "-f", "x.cfg"])
    assert args.nosplice and args.ignored == []
    config = Config()
    apply_overrides(config, args)
    assert config.global_.nosplice
    assert not parse(["-f", "x.cfg"]).nosplice
