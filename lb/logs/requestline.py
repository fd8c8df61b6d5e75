"""The parts of a request line, as HAProxy's %HM %HU %HP %HPO %HQ %HV cut them (worker, cli).

Ported from the scanning in src/log.c `sess_build_logline`: the method ends
at the first blank, the URI is the next run of non-blanks, the version is
whatever follows.  A missing line or one without a blank is `<BADREQ>`; a
line without a version is `HTTP/0.9`.
"""

from __future__ import annotations

from typing import Callable

BADREQ = "<BADREQ>"
_BLANKS = " \t"


def _cut(line: str) -> tuple[str, str, str] | None:
    """(method, uri, version); None when the line has no blank after the method."""
    i, end = 0, len(line)
    while i < end and line[i] not in _BLANKS:
        i += 1
    method = line[:i]
    start = i
    while i < end and line[i] in _BLANKS:
        i += 1
    if i == start:
        return None
    uri_start = i
    while i < end and line[i] not in _BLANKS:
        i += 1
    uri = line[uri_start:i]
    while i < end and line[i] in _BLANKS:
        i += 1
    return method, uri, line[i:]


def method(line: str | None) -> str:
    if not line:
        return BADREQ
    for i, char in enumerate(line):
        if char in _BLANKS:
            return line[:i]
    return BADREQ


def uri(line: str | None) -> str:
    parts = _cut(line) if line else None
    return parts[1] if parts else BADREQ


def path(line: str | None) -> str:
    """%HP: the URI up to '?', an absolute URI keeps its scheme and host."""
    parts = _cut(line) if line else None
    return parts[1].partition("?")[0] if parts else BADREQ


def path_only(line: str | None) -> str:
    """%HPO: the path without scheme, authority or query."""
    parts = _cut(line) if line else None
    if not parts:
        return BADREQ
    target = parts[1]
    if not target.startswith(("/", "*")):
        scheme_end = target.find("://")
        if scheme_end >= 0:
            slash = target.find("/", scheme_end + 3)
            target = target[slash:] if slash >= 0 else ""
    return target.partition("?")[0]


def query(line: str | None) -> str:
    """%HQ: from the first '?' of the line to the next blank ('' without one)."""
    if not line:
        return BADREQ
    start = line.find("?")
    if start < 0:
        return ""
    end = start
    while end < len(line) and line[end] not in _BLANKS:
        end += 1
    return line[start:end]


def version(line: str | None) -> str:
    parts = _cut(line) if line else None
    if not parts:
        return BADREQ
    return parts[2] or "HTTP/0.9"


PARTS: dict[str, Callable[[str | None], str]] = {
    "method": method, "uri": uri, "path": path, "path_only": path_only, "query": query, "version": version,
}  # fmt: skip
