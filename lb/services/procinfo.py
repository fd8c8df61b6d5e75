"""`show info` for a service in a worker: the master's own answer (worker).

The stats page's process block and the exporter's `haproxy_process_*`
metrics show `show info`'s numbers, so they ask the master for exactly
that (`show info typed` through ServiceContext.ask_master) and read its
typed lines back into fields.  When the master cannot be asked, the worker
computes the same fields from what it knows (lb.stats.info over its
generation's shared memory): the master's pid is the worker's parent, and
the uptime counts from the generation's start instead of the master's.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Callable

from lb.shm import layout
from lb.stats import info as stats_info
from lb.stats.fields import Field
from lb.services.base import ServiceContext

Info = dict[str, Field]


def parse_typed_info(text: str) -> Info:
    """`show info typed` lines (`6.Pid.1:SGP:u32:4242`) back into fields."""
    fields: Info = {}
    for line in text.splitlines():
        head, colon, rest = line.partition(":")
        if not colon:
            continue
        position, dot, name_proc = head.partition(".")
        name = name_proc.rpartition(".")[0]
        tag, _sep, typed = rest.partition(":")
        kind, _sep, raw = typed.partition(":")
        if not dot or not position.isdigit() or not name or not kind:
            continue
        fields[name] = Field(tag, kind, raw if kind == "str" else int(raw) if raw.lstrip("-").isdigit() else 0)
    return fields


def local_info(context: ServiceContext) -> Info:
    """`show info` computed in the worker, for when the master does not answer."""
    shm = context.shm
    created_ms = layout.HEADER.unpack_from(shm.mm, 0)[8]
    facts = stats_info.ProcessFacts(
        pid=os.getppid(), started=created_ms / 1000, now=context.now, nworkers=shm.nslots - 1,
        stopping=False, listeners=sum(len(p.binds) for p in context.config.frontends.values()),
        ulimit_n=resource.getrlimit(resource.RLIMIT_NOFILE)[0], maxconn=context.global_maxconn,
        hard_maxconn=context.global_maxconn,
    )  # fmt: skip
    return stats_info.info_fields(context.config, shm, facts)


def ask_info(context: ServiceContext, then: Callable[[Info], None]) -> None:
    """Call `then` with `show info`'s fields, from the master when it answers."""

    def answered(text: str | None) -> None:
        fields = parse_typed_info(text) if text else {}
        then(fields if "Pid" in fields else local_info(context))

    context.ask_master("show info typed", answered)
