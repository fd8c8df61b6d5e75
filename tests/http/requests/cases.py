"""Data-driven request cases: raw requests in NNN.http, expectations in NNN.py (tests only).

The format follows gunicorn's tests/requests: in a .http file real line
breaks are ignored and escapes are written out, so every byte is visible:
`\\r\\n` is CRLF, `\\n` a bare LF, `\\t` a tab, `\\0` NUL, `\\xNN` any byte.
The .py file next to it defines `request`:

- valid/NNN.py: what the server behind lb receives, `{"method", "uri",
  "version", "headers": [(name, value), ...] in order, "body": bytes}`;
  header names as lb sends them (lower case, as HAProxy 2.6 does).
- invalid/NNN.py: `{"status": 400}` (what lb answers; the server gets
  nothing), and a docstring naming the rule.
A .py may also set `xfail = "<reason>"`: lb is known to differ there.
"""

from __future__ import annotations

import re
import runpy
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
_ESCAPE = re.compile(rb"\\(r|n|t|0|x[0-9a-fA-F]{2})")
_SIMPLE = {b"r": b"\r", b"n": b"\n", b"t": b"\t", b"0": b"\0"}


def decode(text: bytes) -> bytes:
    """The request bytes a .http file describes."""
    text = text.replace(b"\n", b"")

    def replace(match: re.Match[bytes]) -> bytes:
        code = match.group(1)
        return _SIMPLE.get(code) or bytes([int(code[1:], 16)])

    return _ESCAPE.sub(replace, text)


def load(kind: str) -> list[tuple[str, bytes, dict[str, Any], str | None]]:
    """(case id, raw request, expectation, xfail reason or None) for every NNN.http of valid/ or invalid/."""
    cases = []
    for raw_path in sorted((HERE / kind).glob("*.http")):
        namespace = runpy.run_path(str(raw_path.with_suffix(".py")))
        cases.append((f"{kind}/{raw_path.stem}", decode(raw_path.read_bytes()), namespace["request"],
                      namespace.get("xfail")))  # fmt: skip
    return cases
