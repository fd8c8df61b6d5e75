"""ACL pattern matching methods, compiled at config load (master, cli; matchers run in worker).

One `PatternSet` holds the patterns of one ACL line for one method
(cfg §7.1): `-i` applies to the patterns written after it, so each
pattern remembers its own case flag, and `compile()` groups them into a
single fast predicate: sets for exact strings, tuples for prefixes and
suffixes, one alternation regex for `dir`/`dom`, integer ranges, networks.
Pattern errors raise ValueError with HAProxy's text (no final period).
"""

from __future__ import annotations

import re
from typing import Any, Callable

from lb.rules.addr import Ip, Network, parse_ip, parse_network
from lb.rules.fetches import to_int
from lb.rules.sample import to_str

STRING_METHODS = ("str", "sub", "reg", "beg", "end", "dir", "dom", "bin", "len")
METHODS = ("found", "bool", "int", "ip", "meth", *STRING_METHODS)
DEFAULT_METHOD = {"str": "str", "int": "int", "bool": "bool", "ip": "ip", "meth": "meth", "any": "str", "bin": "bin"}
INT_OPERATORS = ("eq", "ge", "gt", "le", "lt")
_DIR_DELIMS, _DOM_DELIMS = "/?", "/?.:"

Matcher = Callable[[Any], bool]


def compile_regex(text: str, icase: bool = False) -> re.Pattern[str]:
    """A regex, or ValueError worded like HAProxy's PCRE2 messages."""
    try:
        return re.compile(text, re.IGNORECASE if icase else 0)
    except re.error as exc:
        raise ValueError(f"regex '{text}' is invalid (error={_pcre_words(exc, text)})") from None


_PCRE_TEXT = (  # Python's message start -> (PCRE2's words, where PCRE2 points)
    ("missing ), unterminated subpattern", "missing closing parenthesis", "end"),
    ("unterminated character set", "missing terminating ] for character class", "end"),
    ("nothing to repeat", "quantifier does not follow a repeatable item", "pos"),
    ("multiple repeat", "quantifier does not follow a repeatable item", "pos"),
    ("unbalanced parenthesis", "unmatched closing parenthesis", "pos"),
    ("min repeat greater than max repeat", "numbers out of order in {} quantifier", "brace"),
    ("bad character range", "range out of order in character class", "range"),
    ("bad escape (end of pattern)", "\\ at end of pattern", "end"),
)


def _pcre_words(exc: re.error, text: str) -> str:
    pos = exc.pos or 0
    for start, words, where in _PCRE_TEXT:
        if exc.msg.startswith(start):
            offset = {"end": len(text), "pos": pos, "range": pos + 2,
                      "brace": text.find("}", pos) if "}" in text[pos:] else pos}[where]  # fmt: skip
            return f"{words}, erroffset={offset}"
    return f"{exc.msg}, erroffset={pos}"


def parse_int_pattern(text: str, operator: str = "eq") -> tuple[int | None, int | None]:
    """`5`, `1024:65535`, `:1023`, `1024:` (and `ge 5`...) -> inclusive (low, high)."""
    if ":" in text or operator == "eq":
        low_text, colon, high_text = text.partition(":")
        if ":" in high_text:
            raise ValueError(f"'{text}' is not a valid number range")
        low = _number(low_text, text) if low_text else None
        high = (_number(high_text, text) if high_text else None) if colon else low
        return low, high
    value = _number(text, text)
    return {"ge": (value, None), "gt": (value + 1, None), "le": (None, value), "lt": (None, value - 1)}[operator]


def _number(part: str, text: str) -> int:
    if not part.isdigit():
        raise ValueError(f"'{text}' is not a number")
    return int(part)


class PatternSet:
    """The patterns of one ACL term for one matching method."""

    def __init__(self, method: str) -> None:
        self.method = method
        self.items: list[tuple[Any, bool]] = []  # (parsed pattern, ignore case)

    def __len__(self) -> int:
        return len(self.items)

    def add(self, text: str, icase: bool = False, operator: str = "eq") -> None:
        """Parse and keep one pattern; ValueError with HAProxy's text when invalid."""
        method = self.method
        if method in ("int", "len"):
            self.items.append((parse_int_pattern(text, operator), icase))
        elif method == "ip":
            self.items.append((parse_network(text), icase))
        elif method == "reg":
            self.items.append((compile_regex(text, icase), icase))
        elif method == "bin":
            try:
                self.items.append((bytes.fromhex(text).decode("latin-1"), icase))
            except ValueError:
                raise ValueError(f"'{text}' is not a valid hexadecimal binary string") from None
        elif method not in ("found", "bool"):
            self.items.append((text, icase))

    def compile(self) -> Matcher:
        """A predicate on one sample value already converted for this method."""
        builder = _BUILDERS.get(self.method, _build_exact)
        return builder([p for p, i in self.items if not i], [p for p, i in self.items if i])


def _never(value: Any) -> bool:
    return False


def _build_exact(cs: list[Any], ci: list[Any]) -> Matcher:
    exact, folded = frozenset(cs), frozenset(p.lower() for p in ci)
    if not folded:
        return exact.__contains__
    return lambda v: v in exact or v.lower() in folded


KNOWN_METHODS = frozenset(("OPTIONS", "GET", "HEAD", "POST", "PUT", "DELETE", "TRACE", "CONNECT"))


def _build_method(cs: list[Any], ci: list[Any]) -> Matcher:
    """HAProxy's pat_match_meth: a well-known method pattern (case-sensitive
    name) matches that method only; other patterns only match methods that
    are not well known, by string (`-i` ignoring case).  So `method -i post`
    does not match POST, while `method POST` does."""
    known = frozenset(p for p in cs + ci if p in KNOWN_METHODS)
    others = frozenset(p for p in cs if p not in KNOWN_METHODS)
    folded = frozenset(p.lower() for p in ci if p not in KNOWN_METHODS)

    def match(v: str) -> bool:
        if v in KNOWN_METHODS:
            return v in known
        return v in others or (bool(folded) and v.lower() in folded)

    return match


def _build_affix(starts: bool) -> Callable[[list[Any], list[Any]], Matcher]:
    def build(cs: list[Any], ci: list[Any]) -> Matcher:
        exact, folded = tuple(cs), tuple(p.lower() for p in ci)
        if starts:
            return lambda v: v.startswith(exact) or (bool(folded) and v.lower().startswith(folded))
        return lambda v: v.endswith(exact) or (bool(folded) and v.lower().endswith(folded))

    return build


def _build_sub(cs: list[Any], ci: list[Any]) -> Matcher:
    folded = [p.lower() for p in ci]

    def match(v: str) -> bool:
        if any(p in v for p in cs):
            return True
        if folded:
            low = v.lower()
            return any(p in low for p in folded)
        return False

    return match


def _build_reg(cs: list[Any], ci: list[Any]) -> Matcher:
    searches = [r.search for r in cs + ci]
    return lambda v: any(search(v) for search in searches)


def _build_word(delims: str) -> Callable[[list[Any], list[Any]], Matcher]:
    """HAProxy's match_word: the pattern (its own edge delimiters ignored)
    between delimiters or the ends of the sample."""
    cls = re.escape(delims)

    def regex(patterns: list[str], flags: int) -> Callable[[str], Any] | None:
        words = [p.strip(delims) for p in patterns]
        words = [re.escape(w) for w in words if w]
        if not words:
            return None
        return re.compile(f"(?<![^{cls}])(?:{'|'.join(words)})(?![^{cls}])", flags).search

    def build(cs: list[Any], ci: list[Any]) -> Matcher:
        searches = [s for s in (regex(cs, 0), regex(ci, re.IGNORECASE)) if s is not None]
        if not searches:
            return _never
        return lambda v: any(search(v) for search in searches)

    return build


def _build_ranges(cs: list[Any], ci: list[Any]) -> Matcher:
    ranges = cs + ci

    def match(v: int) -> bool:
        for low, high in ranges:
            if (low is None or v >= low) and (high is None or v <= high):
                return True
        return False

    return match


def _build_len(cs: list[Any], ci: list[Any]) -> Matcher:
    in_range = _build_ranges(cs, ci)
    return lambda v: in_range(len(v))


def _build_ip(cs: list[Any], ci: list[Any]) -> Matcher:
    networks: list[Network] = cs + ci
    return lambda v: any(net.contains(v) for net in networks)


_BUILDERS: dict[str, Callable[[list[Any], list[Any]], Matcher]] = {
    "str": _build_exact, "meth": _build_method, "bin": _build_exact,
    "beg": _build_affix(True), "end": _build_affix(False), "sub": _build_sub, "reg": _build_reg,
    "dir": _build_word(_DIR_DELIMS), "dom": _build_word(_DOM_DELIMS),
    "int": _build_ranges, "len": _build_len, "ip": _build_ip,
    "bool": lambda cs, ci: bool, "found": lambda cs, ci: (lambda v: True),
}  # fmt: skip


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return to_int(value)
    return None


def _as_ip(value: Any) -> Ip | None:
    if isinstance(value, Ip):
        return value
    return parse_ip(value) if isinstance(value, str) else None


def value_converter(method: str, sample_type: str) -> Callable[[Any], Any] | None:
    """How to turn a sample of `sample_type` into what `method` compares; None: as is."""
    if method in STRING_METHODS or method == "meth":
        return None if sample_type in ("str", "meth", "bin") else to_str
    if method == "int":
        return None if sample_type == "int" else _as_int
    if method == "ip":
        return None if sample_type == "ip" else _as_ip
    return None
