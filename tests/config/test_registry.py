"""Keyword registry: lookups and HAProxy's "did you mean" hints."""

from __future__ import annotations

import pytest

import lb.config.keywords  # noqa: F401  (registers every keyword)
from lb.config import registry
from lb.config.model import SECTION_BACKEND, SECTION_FRONTEND, SECTION_GLOBAL


@pytest.mark.parametrize(
    "word, candidates, expected",
    [
        ("baalnce", ["balance", "bind", "mode"], "balance"),
        ("chekc", ["check", "cookie", "weight"], "check"),
        ("maxcon", ["maxconn", "maxqueue"], "maxconn"),
        ("zzzzzz", ["balance", "bind"], None),
        ("", ["balance"], None),
    ],
)
def test_suggest(word: str, candidates: list[str], expected: str | None) -> None:
    assert registry.suggest(word, candidates) == expected


def test_lookup_prefers_two_word_keywords() -> None:
    kw, width = registry.lookup(SECTION_FRONTEND, ["option", "dontlognull"])
    assert kw is not None and kw.name == "option dontlognull" and width == 2
    kw, width = registry.lookup(SECTION_FRONTEND, ["mode", "http"])
    assert kw is not None and kw.name == "mode" and width == 1


def test_lookup_is_per_scope() -> None:
    assert registry.lookup(SECTION_GLOBAL, ["nbproc", "2"])[0] is not None
    assert registry.lookup(SECTION_BACKEND, ["nbproc", "2"])[0] is None
    kw_global = registry.lookup(SECTION_GLOBAL, ["maxconn", "1"])[0]
    kw_proxy = registry.lookup(SECTION_FRONTEND, ["maxconn", "1"])[0]
    assert kw_global is not None and kw_proxy is not None and kw_global is not kw_proxy


def test_is_family() -> None:
    assert registry.is_family(SECTION_FRONTEND, "option")
    assert not registry.is_family(SECTION_FRONTEND, "mode")


def test_names_for_section() -> None:
    assert "balance" in registry.names_for_section(SECTION_BACKEND)
    assert "option" in registry.names_for_section(SECTION_BACKEND)
    assert "dontlognull" in registry.names_for_section(SECTION_FRONTEND, family="option")


def test_every_keyword_is_registered_once_per_scope() -> None:
    names = [(scope, name) for scope, name in registry.REGISTRY.keywords]
    assert len(names) == len(set(names))


CASES = [
    ("global\n    maxconnn 10\n", "unknown keyword 'maxconnn' in 'global' section; did you mean 'maxconn' maybe ?"),
    ("backend b\n    baalnce roundrobin\n", "unknown keyword 'baalnce' in 'backend' section; did you mean 'balance' maybe ?"),
    ("backend b\n    qwertyuiop\n", "unknown keyword 'qwertyuiop' in 'backend' section"),
    ("frontend f\n    option dontlognul\n", "unknown option 'dontlognul'; did you mean 'dontlognull' maybe ?"),
    ("frontend f\n    option qwertyuiopasdf\n", "unknown option 'qwertyuiopasdf'."),
    ("backend b\n    server s 127.0.0.1:80 chekc\n",
     "'server b/s' : unknown keyword 'chekc'; did you mean 'check' maybe ?"),
    ("frontend f\n    bind :80 accpet-proxy\n",
     "'bind :80' in section 'frontend': unknown keyword 'accpet-proxy'; did you mean 'accept-proxy' maybe ?"),
]  # fmt: skip


@pytest.mark.parametrize("text, message", CASES)
def test_unknown_keywords_get_a_hint(tmp_path, text: str, message: str) -> None:
    path = tmp_path / "f.cfg"
    path.write_text(text)
    config = lb.config.load(str(path))
    assert message in [d.message for d in config.alerts]
