"""Assemble tcp-check / http-check rule lists and compile them into a check program (master, cli).

Pure functions over lists of lb.checker.model rules, following HAProxy's
src/tcpcheck.c: the ordering rules enforced while lines are added
(`tcpcheck_add_http_rule`, the "first step MUST also be a 'connect'"
check) and the final pass (`check_proxy_tcpcheck`): implicit first
connect, implicit `expect status 200-399` after a last http `send`,
comments folded into the rules that follow them.
"""

from __future__ import annotations

import copy

from lb.checker.model import (
    KIND_HTTP,
    KIND_PROTO,
    KIND_TCP,
    CheckSettings,
    CommentRule,
    ConnectRule,
    ExpectRule,
    HttpSendRule,
    Rule,
)
from lb.checker.rules import parse_expect

FIRST_CONNECT = ("first step MUST also be a 'connect', optionally preceded by a 'set-var', an 'unset-var' "
                 "or a 'comment', when there is a 'connect' step in the tcp-check ruleset")


def _actions(rules: list[Rule]) -> list[Rule]:
    return [rule for rule in rules if not isinstance(rule, CommentRule)]


def _is_option_send(rule: Rule | None) -> bool:
    return isinstance(rule, HttpSendRule) and rule.from_option


def check_connect_position(rules: list[Rule]) -> None:
    """A `connect` may only be added if every rule before it is a comment (or the option's request)."""
    for rule in rules:
        if isinstance(rule, ConnectRule):
            return
        if isinstance(rule, CommentRule) or _is_option_send(rule):
            continue
        raise ValueError(FIRST_CONNECT)


def next_index(rules: list[Rule]) -> int:
    """Declaration index of the next rule (HAProxy counts comments too, not the option's request)."""
    if not rules:
        return 0
    last = rules[-1]
    return last.index if _is_option_send(last) else last.index + 1


def merge_send(old: HttpSendRule, new: HttpSendRule) -> None:
    """Fields written on `new` override those of `old` (HAProxy tcpcheck_overwrite_send_http_rule)."""
    for name in ("method", "uri", "version", "body"):
        if getattr(new, name) is not None:
            setattr(old, name, getattr(new, name))
    if new.headers:
        old.headers = list(new.headers)
    old.comment = new.comment or old.comment


def add_http_option(rules: list[Rule], request: HttpSendRule) -> None:
    """Put the request of an `option httpchk` line in the list (first send, merged or replaced)."""
    actions = _actions(rules)
    first = actions[0] if actions else None
    if isinstance(first, ConnectRule):
        first = actions[1] if len(actions) > 1 else None
    if not isinstance(first, HttpSendRule):
        rules.insert(0, request)
    elif first.from_option:
        rules[rules.index(first)] = request
    else:
        merge_send(first, request)


def add_http_rule(rules: list[Rule], rule: Rule) -> None:
    """Append an explicit http-check rule, refusing orders HAProxy refuses."""
    actions = _actions(rules)
    last = actions[-1] if actions else None
    step = rule.index + 1
    if last is None or _is_option_send(last):
        pass
    elif not isinstance(last, ConnectRule) and isinstance(rule, HttpSendRule):
        raise ValueError(f"unable to add http-check send rule at step {step} (missing connect rule)")
    elif not isinstance(last, (HttpSendRule, ExpectRule)) and isinstance(rule, ExpectRule):
        raise ValueError(f"unable to add http-check expect rule at step {step} (missing send rule)")
    elif not isinstance(last, ExpectRule) and isinstance(rule, ConnectRule):
        raise ValueError(f"unable to add http-check connect rule at step {step} (missing expect rule)")
    if isinstance(rule, HttpSendRule):
        first = actions[0] if actions else None
        if _is_option_send(first):
            merge_send(first, rule)  # the explicit request completes the option's one
            rules.remove(first)
            first.from_option = False
            first.index = rule.index
            rule = first
    rules.append(rule)


def compile_program(settings: CheckSettings) -> list[Rule]:
    """The steps the checker runs for each server of a backend."""
    if settings.kind == KIND_TCP:
        rules = copy.deepcopy(settings.tcp_rules)
    elif settings.kind == KIND_PROTO:
        rules = copy.deepcopy(settings.native_rules)
    elif settings.kind == KIND_HTTP:
        rules = copy.deepcopy(settings.http_rules) or [HttpSendRule(from_option=True)]
        _place_option_send(rules)
        _add_implicit_expect(rules)
    else:
        rules = []
    actions = _actions(rules)
    if not actions or not isinstance(actions[0], ConnectRule):
        rules.insert(0, ConnectRule(default=True, implicit=True))
    program = fold_comments(rules)
    set_expect_heads(program)
    return program


def _place_option_send(rules: list[Rule]) -> None:
    """The option's request goes after the first connect, when the rules start with one."""
    actions = _actions(rules)
    if len(actions) >= 2 and _is_option_send(actions[0]) and isinstance(actions[1], ConnectRule):
        rules.remove(actions[0])
        rules.insert(rules.index(actions[1]) + 1, actions[0])
        actions[0].index = actions[1].index


def _add_implicit_expect(rules: list[Rule]) -> None:
    actions = _actions(rules)
    if actions and isinstance(actions[-1], HttpSendRule):
        expect = parse_expect(["status", "200-399"], http=True)
        expect.implicit, expect.index = True, actions[-1].index
        rules.append(expect)


def fold_comments(rules: list[Rule]) -> list[Rule]:
    """Drop comment rules; their text goes to the following rule(s) of one action kind."""
    program: list[Rule] = []
    comment: str | None = None
    previous: type | None = CommentRule
    for rule in rules:
        if type(rule) is not previous and previous is not CommentRule:
            comment = None
        previous = type(rule)
        if isinstance(rule, CommentRule):
            comment = rule.text
            continue
        if rule.comment is None and comment is not None:
            rule.comment = comment
        if isinstance(rule, ConnectRule):
            comment = None
        program.append(rule)
    return program


def set_expect_heads(program: list[Rule]) -> None:
    """Where to restart when an expect needs more data: the first negated expect of its chain."""
    for position, rule in enumerate(program):
        if not isinstance(rule, ExpectRule):
            continue
        rule.head = position
        back = position - 1
        while back >= 0 and isinstance(program[back], ExpectRule):
            if program[back].inverse:  # type: ignore[union-attr]
                rule.head = back
            back -= 1
