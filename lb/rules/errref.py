"""`errorfiles <name>` as a deny/return payload: a reference resolved once the configuration is read (master, cli).

An http-errors section may be declared after the rule that names it, so
the rule keeps a SectionRef that lb.rules.httperrors fills (or reports as
unknown) in its post-parse step.  The references made while one
configuration is parsed wait in PENDING until that step drains them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class SectionRef:
    name: str
    status: int
    reply: Any = None  # lb.rules.reply.Reply once resolved; None: the proxy's own error page


PENDING: list[SectionRef] = []


def section_reply(name: str, status: int) -> SectionRef:
    """A reference to page `status` of http-errors section `name`, filled after parsing."""
    ref = SectionRef(name, status)
    PENDING.append(ref)
    return ref
