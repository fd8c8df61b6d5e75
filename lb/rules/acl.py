"""ACLs: `acl NAME CRITERION [flags] [operator] VALUES...` compiled into tests (master, cli; tests run in worker).

An ACL is a list of terms (one per `acl` line with that name: repeated
names are ORed); a term is a fetch, a matching method and its patterns.
A term is true when any value of the fetch matches any pattern (cfg §7.1).

Parsing follows HAProxy's parse_acl_expr(): the criterion (a fetch, or an
ACL derivative such as `path_beg` that implies the method), then flags
(`-i` `-f FILE` `-m METH` `-n` `-M` `-u ID` `--`), then the patterns, with
the integer operators `eq ge gt le lt` for int and len matching.  Errors
raise AclError carrying HAProxy's text without the final period; the
caller adds its context ("error detected while parsing ACL 'x' : ...").
"""

from __future__ import annotations

import re
from typing import Any, Callable

from lb.rules.fetches import BUILD_SITE, USE_ANY, Fetch, FetchError
from lb.rules.fetches_payload import DOTTED_VERSION
from lb.rules.patterns import DEFAULT_METHOD, INT_OPERATORS, METHODS, PatternSet, value_converter
from lb.rules.sample import apply_converter, build_fetch, split_call, split_top

NAME_CHARS = re.compile(r"[A-Za-z0-9_.:-]")
NO_PATTERN_WARNING = (
    "parsing acl keyword '{kw}' :\n"
    "  no pattern to match against were provided, so this ACL will never match.\n"
    "  If this is what you intended, please add '--' to get rid of this warning.\n"
    "  If you intended to match only for existence, please use '-m found'.\n"
    "  If you wanted to force an int to match as a bool, please use '-m bool'.\n"
)
# ACL derivatives: `<base>_<method>` -> (fetch, implied method)
_DERIVED_BASES = {"path": "path", "url": "url", "hdr": "req.hdr", "req.cook": "req.cook", "cook": "req.cook",
                  "urlp": "url_param", "req.fhdr": "req.fhdr", "res.hdr": "res.hdr", "shdr": "res.hdr",
                  "res.cook": "res.cook", "scook": "res.cook", "base": "base", "query": "query"}  # fmt: skip
DERIVATIVES: dict[str, tuple[str, str]] = {
    f"{base}_{method}": (fetch, method)
    for base, fetch in _DERIVED_BASES.items()
    for method in ("beg", "dir", "dom", "end", "len", "reg", "sub")
}
DERIVATIVES.update({"hdr": ("req.hdr", "str"), "req.ver": ("req.ver", "str"), "method": ("method", "meth")})


class AclError(ValueError):
    """An ACL or condition is wrong; the text is HAProxy's (no final period)."""


Test = Callable[[Any], bool]


class Acl:
    """A named (or anonymous) ACL: its terms are ORed."""

    __slots__ = ("name", "terms")

    def __init__(self, name: str) -> None:
        self.name = name
        self.terms: list[tuple[Test, int, str]] = []  # (test, fetch use, keyword as written)

    def match_any(self, txn: Any, direction: int = USE_ANY) -> bool:
        for test, use, _kw in self.terms:
            if use & direction and test(txn):
                return True
        return False

    def matcher(self, direction: int) -> Test:
        """A test for rules of `direction`: terms that cannot work there never match.

        The closure reads the live term list: an `acl` line with the same
        name written after the rule still counts, as in HAProxy."""
        terms = self.terms

        def match(txn: Any) -> bool:
            for test, use, _kw in terms:
                if use & direction and test(txn):
                    return True
            return False

        match.acl = self  # type: ignore[attr-defined]  (rule-set compatibility warnings read its terms)
        return match


def parse_term(words: list[str], read_file: Callable[[str], list[tuple[int, str]]] | None = None
               ) -> tuple[Test, Fetch, str, bool]:  # fmt: skip
    """Compile `criterion [flags] [patterns]` -> (test, fetch, keyword, warn_no_pattern)."""
    if not words or not words[0]:
        raise AclError("missing fetch method in ACL expression ''")
    criterion, rest = words[0], list(words[1:])
    BUILD_SITE.acl = True
    try:
        compiled, method = _criterion(criterion)
    finally:
        BUILD_SITE.acl = False
    patterns: PatternSet | None = None
    icase = False
    while rest and rest[0].startswith("-") and len(rest[0]) > 1:
        flag = rest.pop(0)
        if flag == "--":
            break
        if flag == "-i":
            icase = True
        elif flag in ("-n", "-M"):
            pass  # lb never resolves names; -M reads the first column, as patterns
        elif flag == "-u":
            rest[:1] = []
        elif flag == "-m":
            meth = rest.pop(0) if rest else ""
            if meth not in METHODS or meth == "meth":
                raise AclError(f"unknown matching method '{meth}' when parsing ACL expression")
            if patterns is not None:
                raise AclError("'-m' must only be specified before patterns and files in parsing ACL expression")
            method = meth
        elif flag == "-f":
            path = rest.pop(0) if rest else ""
            patterns = patterns or PatternSet(method or DEFAULT_METHOD[compiled.type])
            _load_file(patterns, path, icase, read_file or read_pattern_file)
        else:
            raise AclError(f"'{flag}' is not a valid ACL option. Please use '--' before any pattern "
                           "beginning with a '-'")  # fmt: skip
    method = method or DEFAULT_METHOD[compiled.type]
    patterns = patterns or PatternSet(method)
    if compiled.name in DOTTED_VERSION and method == "int":
        rest = [word if word in INT_OPERATORS else _dotted(word) for word in rest]
    _add_patterns(patterns, rest, icase)
    warn = not words[1:] and method not in ("found", "bool")
    return _make_test(compiled, patterns), compiled, criterion, warn


def _criterion(criterion: str) -> tuple[Fetch, str | None]:
    """The fetch of a criterion (with converters) and the method it implies."""
    first, *converters = split_top(criterion)
    try:
        name, args = split_call(first)
    except FetchError as exc:
        raise AclError(f"{exc} in ACL expression '{criterion}'") from None
    base, method = DERIVATIVES.get(name, (name, None))
    try:
        compiled = build_fetch(base, args)
        for conv in converters:
            compiled = apply_converter(compiled, conv)
    except FetchError as exc:
        raise AclError(_fetch_error(str(exc), name, criterion)) from None
    return compiled, None if converters else method


def _fetch_error(message: str, name: str, criterion: str) -> str:
    if message.startswith(("unknown fetch method", "fetch method '")):
        return f"{message} in ACL expression '{criterion}'"
    if message.startswith("failed to parse"):
        return f"ACL keyword '{name}' : {message}"
    if message.startswith("unknown converter"):
        return f"{message} in ACL expression '{criterion}'"
    return f"invalid args in fetch method '{name}' : {message} in ACL expression '{criterion}'"


def _dotted(word: str) -> str:
    """HAProxy's pat_parse_dotted_ver(): `3.1` is (3 << 16) + 1; ranges `a:b`, `:b`, `a:`."""
    low, sep, high = word.partition(":") if ":" in word else word.partition("-")
    try:
        if not sep:
            return str(_dotted_value(word))
        return f"{_dotted_value(low) if low else ''}:{_dotted_value(high) if high else ''}"
    except ValueError:
        if not sep:
            raise AclError(f"'{word}' is not a dotted number") from None
        raise AclError(f"'{word}' is not a valid dotted number range") from None


def _dotted_value(text: str) -> int:
    major, dot, minor = text.partition(".")
    if not major.isdigit() or (dot and not minor.isdigit()):
        raise ValueError(text)
    return (int(major) << 16) + (int(minor) if dot else 0)


def _add_patterns(patterns: PatternSet, words: list[str], icase: bool) -> None:
    operator = "eq"
    int_like = patterns.method in ("int", "len")
    for word in words:
        if int_like and word in INT_OPERATORS:
            operator = word
            continue
        try:
            patterns.add(word, icase, operator)
        except ValueError as exc:
            raise AclError(str(exc)) from None


def read_pattern_file(path: str) -> list[tuple[int, str]]:
    """(line number, pattern) of a `-f` file: leading blanks stripped, empty
    lines and `#` comments skipped."""
    try:
        with open(path, encoding="latin-1") as fh:
            lines = fh.read().splitlines()
    except OSError:
        raise AclError(f"failed to open pattern file <{path}>") from None
    out = []
    for number, line in enumerate(lines, start=1):
        text = line.lstrip(" \t")
        if text and not text.startswith("#"):
            out.append((number, text))
    return out


def _load_file(patterns: PatternSet, path: str, icase: bool, read: Callable[[str], list[tuple[int, str]]]) -> None:
    for number, text in read(path):
        try:
            patterns.add(text.split()[0] if patterns.method in ("ip", "int", "len") else text, icase)
        except ValueError as exc:
            raise AclError(f"{exc} at line {number} of file <{path}>") from None


def _make_test(compiled: Fetch, patterns: PatternSet) -> Test:
    every, method = compiled.all, patterns.method
    if method == "found":
        return lambda txn: len(every(txn)) > 0
    if method != "bool" and not len(patterns):
        return lambda txn: False
    match, convert = patterns.compile(), value_converter(method, compiled.type)
    one = getattr(every, "one", None)  # set by fetches._single: at most one value, no list needed
    if one is not None:

        def test_one(txn: Any) -> bool:
            value = one(txn)
            if value is not None and convert is not None:
                value = convert(value)
            return value is not None and match(value)

        return test_one
    if convert is None:

        def test(txn: Any) -> bool:
            for value in every(txn):
                if match(value):
                    return True
            return False

        return test

    def test_converted(txn: Any) -> bool:
        for value in every(txn):
            value = convert(value)
            if value is not None and match(value):
                return True
        return False

    return test_converted


def check_acl_name(name: str) -> None:
    for char in name:
        if not NAME_CHARS.match(char):
            raise AclError(f"character '{char}' is not permitted in acl name '{name}'")


# cfg §7.4
PREDEFINED_TEXT = {
    "FALSE": "always_false", "TRUE": "always_true", "HTTP": "req.proto_http",
    "HTTP_1.0": "req.ver 1.0", "HTTP_1.1": "req.ver 1.1", "HTTP_2.0": "req.ver 2.0", "HTTP_3.0": "req.ver 3.0",
    "HTTP_CONTENT": "req.hdr_val(content-length) gt 0", "HTTP_URL_ABS": "url_reg ^[^/:]*://",
    "HTTP_URL_SLASH": "url_beg /", "HTTP_URL_STAR": "url *", "LOCALHOST": "src 127.0.0.1/8 ::1",
    "METH_CONNECT": "method CONNECT", "METH_DELETE": "method DELETE", "METH_GET": "method GET HEAD",
    "METH_HEAD": "method HEAD", "METH_OPTIONS": "method OPTIONS", "METH_POST": "method POST",
    "METH_PUT": "method PUT", "METH_TRACE": "method TRACE", "RDP_COOKIE": "req.rdp_cookie_cnt gt 0",
    "REQ_CONTENT": "req.len gt 0", "WAIT_END": "wait_end",
}  # fmt: skip
_PREDEFINED: dict[str, Acl] = {}


def predefined(name: str) -> Acl | None:
    """The built-in ACL called `name` (compiled on first use)."""
    acl = _PREDEFINED.get(name)
    if acl is None and name in PREDEFINED_TEXT:
        acl = Acl(name)
        test, compiled, kw, _warn = parse_term(PREDEFINED_TEXT[name].split())
        acl.terms.append((test, compiled.use, kw))
        _PREDEFINED[name] = acl
    return acl
