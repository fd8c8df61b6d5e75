"""`if`/`unless` conditions compiled into one predicate (master, cli; predicates run in worker).

Grammar (cfg §7.2): `[!]acl1 [!]acl2 ... { or | || } [!]acl3 ...`: AND by
juxtaposition binds tighter than OR, `!` negates one ACL (several `!`
toggle, and `!{` works), `{ criterion ... }` is an anonymous ACL.  No
parentheses.  Like HAProxy, a condition with no ACL at all never matches
(so `unless` alone always does), a trailing `or` is ignored, and an ACL
must be declared before the rule that uses it.

`compile_condition()` returns a CompiledCondition whose `match(txn)`
already applies the polarity; it is stored in `Condition.compiled`.
"""

from __future__ import annotations

from typing import Any, Callable

from lb.rules.acl import NO_PATTERN_WARNING, Acl, AclError, parse_term, predefined
from lb.rules.fetches import USE_REQ

Lookup = Callable[[str], Acl | None]
Warn = Callable[..., None]  # warn(message, hidden=False): hidden prints no location


class CompiledCondition:
    """A condition ready to run: `match(txn) -> bool` (polarity applied)."""

    __slots__ = ("polarity", "suites", "match")

    def __init__(self, polarity: str, suites: list[list[tuple[Callable[[Any], bool], bool]]]) -> None:
        self.polarity = polarity
        self.suites = tuple(tuple(suite) for suite in suites)
        self.match = self._build()

    def _build(self) -> Callable[[Any], bool]:
        hit = self.polarity != "unless"
        suites = self.suites
        if len(suites) == 1 and len(suites[0]) == 1:
            test, neg = suites[0][0]
            if neg == hit:
                return lambda txn: not test(txn)
            return test

        def match(txn: Any) -> bool:
            for suite in suites:
                for test, neg in suite:
                    if test(txn) == neg:
                        break
                else:
                    return hit
            return not hit

        return match

    def __call__(self, txn: Any) -> bool:
        return self.match(txn)


def compile_condition(polarity: str, words: list[str], lookup: Lookup, direction: int = USE_REQ,
                      where: str = "", warn: Warn | None = None) -> CompiledCondition:  # fmt: skip
    """Compile the words after `if`/`unless`; AclError with HAProxy's text.

    `lookup` finds the proxy's named ACLs; `where` names the rule for the
    "will never match" warnings (e.g. "frontend http-response header rule").
    """
    suites: list[list[tuple[Callable[[Any], bool], bool]]] = []
    current: list[tuple[Callable[[Any], bool], bool]] | None = None
    neg = False
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        while word.startswith("!"):
            neg, word = not neg, word[1:]
        if not word:
            continue
        if word.lower() == "or" or word == "||":
            current, neg = None, False
            continue
        if word == "{":
            end = _closing_brace(words, i)
            acl = _anonymous(words[i:end], direction, where, warn)
            i = end + 1
        else:
            acl = _named(word, lookup, direction, where, warn)
        if current is None:
            current = []
            suites.append(current)
        current.append((acl.matcher(direction), neg))
        neg = False
    return CompiledCondition(polarity, suites)


def _closing_brace(words: list[str], start: int) -> int:
    for j in range(start, len(words)):
        if words[j] == "}":
            return j
    raise AclError("missing closing '}' in condition")


def _anonymous(words: list[str], direction: int, where: str, warn: Warn | None) -> Acl:
    test, compiled, keyword, no_pattern = parse_term(words)
    acl = Acl("")
    acl.terms.append((test, compiled.use, keyword))
    if warn is not None:
        if no_pattern:
            warn(NO_PATTERN_WARNING.format(kw=keyword), True)
        if not compiled.use & direction:
            name = keyword.partition("(")[0].partition(",")[0]
            warn(f"anonymous acl will never match because it uses keyword '{name}' which is incompatible "
                 f"with '{where}'")  # fmt: skip
    return acl


def _named(name: str, lookup: Lookup, direction: int, where: str, warn: Warn | None) -> Acl:
    acl = lookup(name) or predefined(name)
    if acl is None:
        raise AclError(f"no such ACL : '{name}'")
    if warn is not None and acl.terms and not any(use & direction for _t, use, _k in acl.terms):
        warn(f"acl '{name}' will never match because it only involves keywords that are incompatible "
             f"with '{where}'")  # fmt: skip
    return acl
