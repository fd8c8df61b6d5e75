"""lb.rules against HAProxy 2.6, byte for byte, on recorded exchanges.

parity/*.case.json hold configurations and raw requests; parity/*.golden.json
what HAProxy 2.6.12 did with them (see parity/record_parity.py): the head
its server received, the bytes its client got, the termination state it
logged.  Here the same requests go through lb.rules's pipeline with the same
canned server responses; the forwarded head, the response and the log's
cookie characters (or the local-reply state) must be identical.
Connection headers are left out on both sides: the engine owns them.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import lb.config
from lb.rules import pipeline
from lb.rules.message import Request, Response
from lb.rules.txn import ConnFacts, Txn

PARITY = Path(__file__).resolve().parent / "parity"
NOW = 1_795_676_936  # any fixed date: no case uses maxidle/maxlife
DOWN_PORT = 1  # servers on port 1 are the DOWN ones in the recorded configs


def split_head(raw: str) -> tuple[str, list[tuple[str, str]], str]:
    head, _, body = raw.partition("\r\n\r\n")
    first, *lines = head.split("\r\n")
    headers = []
    for line in lines:
        name, _, value = line.partition(":")
        headers.append((name, value.strip(" \t")))
    return first, headers, body


def canned_response(case: dict, uri: str) -> tuple[Response, str]:
    key = uri.split("?")[0].strip("/").replace("/", "_")
    if "://" in uri:
        key = uri.split("://", 1)[1].partition("/")[2].split("?")[0].replace("/", "_")
    raw = case["responses"].get(key, case["responses"]["default"])
    first, headers, body = split_head(raw)
    version, code, reason = first.split(" ", 2)
    return Response(int(code), reason, version[5:], headers), body


def replay(config, case: dict, raw: str) -> tuple[str | None, str, str]:
    """(forwarded head, response bytes, %tsc) of one request through lb.rules."""
    frontend = next(iter(config.frontends.values()))
    first, headers, _body = split_head(raw)
    method, uri, version = first.split(" ")
    txn = Txn(ConnFacts("127.0.0.1", 40000, "127.0.0.1", 8080), Request(method, uri, version[5:], headers), frontend)
    verdict = pipeline.request_phase(txn)
    if verdict is None and txn.backend is not None:
        verdict = pipeline.backend_phase(txn, lambda server: server.port != DOWN_PORT, now=NOW)
    if verdict is not None:
        return None, verdict.reply.render().decode("latin-1"), verdict.term + pipeline.cookie_flags(txn)
    server = pipeline.persistent_server(txn) or next(s for s in txn.backend.servers if s.port != DOWN_PORT)
    txn.server = server
    forwarded = txn.request.head_bytes().decode("latin-1")
    txn.response, body = canned_response(case, uri)
    verdict = pipeline.response_phase(txn, now=NOW)
    if verdict is not None:
        return forwarded, verdict.reply.render().decode("latin-1"), verdict.term + pipeline.cookie_flags(txn)
    answer = txn.response.head_bytes().decode("latin-1") + ("" if method == "HEAD" else body)
    return forwarded, answer, "--" + pipeline.cookie_flags(txn)


def cases() -> list[tuple[str, int]]:
    out = []
    for golden in sorted(PARITY.glob("*.golden.json")):
        count = len(json.loads(golden.read_text())["results"])
        out.extend((golden.name.replace(".golden.json", ""), i) for i in range(count))
    return out


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """name -> (case, golden, loaded config) with the case's files written out."""
    out = {}
    for case_path in sorted(PARITY.glob("*.case.json")):
        name = case_path.name.replace(".case.json", "")
        case = json.loads(case_path.read_text())
        tmp = tmp_path_factory.mktemp(name)
        for fname, text in case.get("files", {}).items():
            (tmp / fname).write_text(text)
        text = case["config"].replace("{DIR}", str(tmp)).replace("{PORT}", "8080")
        text = text.replace("{SERVER}", "127.0.0.1:9999")
        (tmp / "lb.cfg").write_text(text)
        config = lb.config.load(str(tmp / "lb.cfg"))
        assert not config.alerts, [d.message for d in config.alerts]
        golden = json.loads((PARITY / f"{name}.golden.json").read_text())
        out[name] = (case, golden, config)
    return out


@pytest.mark.parametrize("name,index", cases())
def test_same_bytes_as_haproxy(loaded: dict, name: str, index: int) -> None:
    case, golden, config = loaded[name]
    expected = golden["results"][index]
    forwarded, response, state = replay(config, case, case["requests"][index])
    assert forwarded == expected["forwarded"]
    if case["requests"][index].startswith("HEAD "):
        response, expected_response = response.split("\r\n\r\n")[0], expected["response"].split("\r\n\r\n")[0]
    else:
        expected_response = expected["response"]
    assert response == expected_response
    assert state == expected["state"]
