"""`http-after-response`: the last rules on every response sent, lb's own replies too (master, cli; run in worker).

    http-after-response <action> [args...] [{if | unless} <condition>]

HAProxy 2.6 (src/http_ana.c http_eval_after_res_rules) runs these rules on
every HTTP response leaving for the client: a server's response after its
http-response rules, and the responses HAProxy writes itself (deny,
return, redirect, auth, errors such as 502/503/504).  The backend's rules
run first, then the frontend's when it is another proxy (a request denied
before any backend was chosen only meets the frontend's); `allow` ends the
current list.  Actions: add-header, set-header, del-header,
replace-header, replace-value, set-status, capture (`id`), set-var,
set-var-fmt, unset-var, allow; `strict-mode` is refused by name.  Pages
the HTTP/1 parser sends before a request exists (400, 408) never meet
them, as in HAProxy.

Where they run:

    pipeline.response_phase(txn)             # a server's response: calls after_response(txn) last
    reply = after_response_reply(txn, reply) # lb's own reply: a new Reply, same body (the engine calls it)

The engine runs response_phase only when a plan says the response needs it
(workers/http/plan.py needs_response): it must count `after_program` too.
"""

from __future__ import annotations

from typing import Any

from lb.config.kw_proxy import proxy_of
from lb.config.model import LOC_HIDDEN, MODE_HTTP, SECTION_DEFAULTS, Config, Diagnostic, cap_str
from lb.config.registry import KwContext, keyword, post_parse
from lb.rules.actions import ALLOW
from lb.rules.http_rules import RESPONSE_ACTIONS, VAR_ACTIONS, Parser, program_of, run_rules
from lb.rules.message import Response
from lb.rules.model import AREA, settings_for
from lb.rules.reply import Reply

AFTER_RESPONSE_ACTIONS: dict[str, Parser] = {
    name: RESPONSE_ACTIONS[name]
    for name in ("add-header", "allow", "capture", "del-header", "replace-header", "replace-value", "set-header",
                 "set-status")
}  # fmt: skip
FINAL = ("allow",)


@keyword("http-after-response",
         doc="<action> [args] [if|unless <cond>]: add-header set-header del-header "
         "replace-header replace-value set-status capture set-var set-var-fmt unset-var allow, on every response "
         "sent (lb's own replies too)")  # fmt: skip
def kw_http_after_response(ctx: KwContext, args: list[str]) -> None:
    from lb.rules.http_rules import parse_rule

    proxy = proxy_of(ctx)
    if ctx.section == SECTION_DEFAULTS and not proxy.name:
        ctx.alert(f"'{args[0]}' not allowed in anonymous 'defaults' section.")
        return
    if len(args) > 1 and args[1] == "strict-mode":
        ctx.alert(f"'{args[0]} strict-mode' is not supported by lb.")
        return
    settings = settings_for(proxy)
    previous = settings.after_response_rules[-1] if settings.after_response_rules else None
    if previous is not None and previous.cond is None and previous.action_name in FINAL:
        ctx.warn(f"previous '{args[0]}' action is final and has no condition attached, further entries are NOOP.")
    rule = parse_rule(ctx, args, response=True, table=AFTER_RESPONSE_ACTIONS)
    if rule is not None:
        settings.after_response_rules.append(rule)


@post_parse(46)  # after lb.rules.keywords.finish_http (45) has re-owned each proxy's settings
def compile_after_response(config: Config) -> None:
    from lb.config.validate import declared_order

    for proxy in declared_order(config):
        settings = settings_for(proxy)
        settings.after_program = program_of(settings.after_response_rules)
        if proxy.mode != MODE_HTTP and not proxy.disabled and settings.after_response_rules:
            config.diagnostics.append(Diagnostic(
                "WARNING", f"'http-after-response' rules ignored for {cap_str(proxy.section)} '{proxy.name}' as "
                "they require HTTP mode.", proxy.loc, LOC_HIDDEN))  # fmt: skip


# -- run time (worker) -----------------------------------------------------------------------------


def programs_of(txn: Any) -> tuple[tuple[Any, ...], ...]:
    """The rule lists a response of `txn` meets: backend's, then the frontend's if another proxy."""
    frontend = txn.frontend
    backend = txn.backend or frontend
    be_program = backend.areas[AREA].after_program
    if backend is frontend:
        return (be_program,) if be_program else ()
    fe_program = frontend.areas[AREA].after_program
    return tuple(p for p in (be_program, fe_program) if p)


def has_after_response(frontend: Any, backend: Any = None) -> bool:
    """Whether responses through these proxies have any http-after-response rule (the engine may skip all else)."""
    if frontend.areas[AREA].after_program:
        return True
    return backend is not None and bool(backend.areas[AREA].after_program)


def after_response(txn: Any) -> None:
    """Run the rules on `txn.response`, the response about to be serialized (edited in place)."""
    for program in programs_of(txn):
        outcome = run_rules(program, txn)
        if outcome is not None and outcome is not ALLOW:
            return  # only allow is final here; anything else is a bug in the table


def after_response_reply(txn: Any, reply: Reply) -> Reply:
    """lb's own reply through the rules: its head parsed into txn.response, the rules run,
    the head written again (header names lower-cased, as HAProxy emits them).  The body
    is kept; a reply without head (an empty errorfile) is sent as is."""
    programs = programs_of(txn)
    if not programs or not reply.head:
        return reply
    response = parse_reply_head(reply.head)
    txn.response = response
    for program in programs:
        run_rules(program, txn)
    head = response.head_bytes()[:-2]  # without the blank line: Reply.render() adds it after the engine's header
    return Reply(response.status, head, reply.body, reply.close)


def parse_reply_head(head: bytes) -> Response:
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code, _, reason = rest.partition(" ")
    headers = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            headers.append((name, value.strip(" \t")))
    return Response(int(code), reason, version.partition("/")[2] or "1.1", headers)


__all__ = ["AFTER_RESPONSE_ACTIONS", "VAR_ACTIONS", "after_response", "after_response_reply", "has_after_response",
           "programs_of", "parse_reply_head"]  # fmt: skip
