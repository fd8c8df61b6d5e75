"""Parsers of `tcp-check` / `http-check` rule lines: small pure functions (master, cli).

Each takes the words after the action (`tcp-check expect <words...>`) and
returns a rule of lb.checker.model, or raises ValueError with HAProxy's
wording (src/tcpcheck.c `parse_tcpcheck_*`); the keyword handler prefixes
it with `'tcp-check expect' : ` and adds the file:line.  Regexes are
compiled here, at config load, never in the checker loop.
"""

from __future__ import annotations

import re

from lb.checker import status as st
from lb.checker.model import ConnectRule, ExpectRule, HeaderMatch, HttpSendRule, SendRule
from lb.config.types import split_host_port

INT_MAX = 2**31 - 1
UNSUPPORTED_CONNECT = ("ssl", "sni", "alpn", "proto", "via-socks4")
TCP_EXPECT_HELP = (
    "'only supports min-recv, '[!]binary', '[!]string', '[!]rstring', '[!]string-lf'"
    "'[!]rbinary', '[!]binary-lf' or comment but got '{}' as argument."
)
HTTP_EXPECT_HELP = (
    "'only supports min-recv, [!]string', '[!]rstring', '[!]string-lf', '[!]status', "
    "'[!]rstatus', [!]hdr, [!]fhdr or comment but got '{}' as argument."
)
OK_STATUSES = ("L4OK", "L6OK", "L7OK", "L7OKC")
ERROR_STATUSES = ("L4CON", "L6RSP", "L7RSP", "L7STS", "L7OKC")
TOUT_STATUSES = ("L4TOUT", "L6TOUT", "L7TOUT")
MATCH_METHODS = ("str", "beg", "end", "sub", "reg")


def _value(words: list[str], i: int, message: str) -> str:
    if i + 1 >= len(words) or words[i + 1] == "":
        raise ValueError(message)
    return words[i + 1]


def hex_problem(text: str) -> str | None:
    """Why `text` is not an even-length hex string (HAProxy parse_binary wording), or None."""
    for char in text:
        if char not in "0123456789abcdefABCDEF":
            return f"an hex digit is expected (found '{char}')"
    if len(text) % 2:
        return "an even number of hex digit is expected"
    return None


def parse_hex(text: str) -> bytes:
    """`50494e470d0a` -> b"PING\\r\\n"."""
    problem = hex_problem(text)
    if problem:
        raise ValueError(f"'{text}' invalid binary string ({problem}).")
    return bytes.fromhex(text)


def compile_regex(pattern: str, flags: int = 0) -> re.Pattern:
    try:
        return re.compile(pattern.encode("latin-1", "surrogateescape"), flags)
    except re.error as exc:
        raise ValueError(f"regex '{pattern}' is invalid ({exc})") from None


def parse_port_word(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise ValueError(f"expects a valid TCP port (from range 1 to 65535), got {text} "
                         "(sample expressions are not supported by lb)")
    return int(text)


def parse_connect(words: list[str]) -> ConnectRule:
    """`tcp-check connect [default] [port N] [addr A] [send-proxy] [linger] [comment C]`."""
    rule = ConnectRule()
    i = 0
    while i < len(words):
        word = words[i]
        if word == "default":
            rule.default = True
        elif word == "addr":
            text = _value(words, i, "'addr' expects <ipv4|ipv6> as argument.")
            host, port = split_host_port(text)
            rule.addr, rule.addr_port = host, (parse_port_word(port) if port else None)
            i += 1
        elif word == "port":
            rule.port = parse_port_word(_value(words, i, "'port' expects a port number or a sample "
                                                         "expression as argument."))
            i += 1
        elif word == "comment":
            rule.comment = _value(words, i, "'comment' expects a string as argument.")
            i += 1
        elif word == "send-proxy":
            rule.send_proxy = True
        elif word == "linger":
            rule.linger = True
        elif word in UNSUPPORTED_CONNECT:
            raise ValueError(f"'{word}' is not supported by lb (no TLS or SOCKS4 in health checks).")
        else:
            raise ValueError("expects 'comment', 'port', 'addr', 'send-proxy' or 'via-socks4', 'linger', "
                             f"'default' but got '{word}' as argument.")
        i += 1
    return rule


def parse_send(action: str, words: list[str]) -> SendRule:
    """`tcp-check send <string> [comment C]` / `send-binary <hex> [comment C]`."""
    if action in ("send-lf", "send-binary-lf"):
        raise ValueError(f"'{action}' is not supported by lb (no log-format in health checks).")
    binary = action == "send-binary"
    if not words or words[0] == "":
        raise ValueError(f"'{action}' expects a {'binary string' if binary else 'string'} as argument")
    rule = SendRule(binary=binary)
    rule.data = parse_hex(words[0]) if binary else words[0].encode("latin-1", "surrogateescape")
    i = 1
    while i < len(words):
        if words[i] != "comment":
            raise ValueError(f"expects 'comment' but got '{words[i]}' as argument.")
        rule.comment = _value(words, i, "'comment' expects a string as argument.")
        i += 2
    return rule


def parse_http_send(words: list[str]) -> HttpSendRule:
    """`http-check send [meth M] [uri U] [ver V] [hdr N V]* [body B] [comment C]`."""
    rule = HttpSendRule()
    i = 0
    while i < len(words):
        word = words[i]
        if word in ("meth", "uri", "ver", "body", "comment"):
            value = _value(words, i, f"'{word}' expects a string as argument.")
            field = {"meth": "method", "uri": "uri", "ver": "version", "body": "body", "comment": "comment"}[word]
            setattr(rule, field, value)
            i += 2
        elif word == "hdr":
            if i + 2 >= len(words) or not words[i + 1] or not words[i + 2]:
                raise ValueError("'hdr' expects <name> and <value> as arguments")
            add_header(rule, words[i + 1], words[i + 2])
            i += 3
        elif word in ("uri-lf", "body-lf"):
            raise ValueError(f"'{word}' is not supported by lb (no log-format in health checks).")
        else:
            raise ValueError("expects 'comment', 'meth', 'uri', 'uri-lf', 'ver', 'hdr', 'body' or 'body-lf'"
                             f" but got '{word}' as argument.")
    return rule


def add_header(rule: HttpSendRule, name: str, value: str) -> None:
    """Add a request header; Content-Length / Transfer-Encoding are computed, so skipped (as HAProxy)."""
    lowered = name.lower()
    if lowered in ("content-length", "transfer-encoding"):
        return
    if lowered == "host":
        for other, previous in rule.headers:
            if other.lower() == "host":
                raise ValueError(f"'{name}' header already defined (previous value is '{previous}')")
    rule.headers.append((name, value))


def parse_httpchk_option(words: list[str]) -> HttpSendRule:
    """`option httpchk [<uri>] | [<meth> <uri> [<ver> [<host>]]]` (words after `option httpchk`).

    A version written the legacy way, `HTTP/1.1\\r\\nHost:\\ www`, carries
    headers (and a body after an empty line), as HAProxy still accepts.
    """
    if len(words) > 4:
        raise ValueError(f"cannot handle unexpected argument '{words[4]}'.")
    rule = HttpSendRule(from_option=True)
    if len(words) == 1:
        rule.uri = words[0]
    elif len(words) >= 2:
        rule.method, rule.uri = words[0], words[1]
    if len(words) >= 3:
        version, _, extra = words[2].partition("\r\n")
        rule.version = version
        head, _, body = extra.partition("\r\n\r\n")
        for line in head.split("\r\n") if head else []:
            name, colon, value = line.partition(":")
            if colon and name.strip():
                add_header(rule, name.strip(), value.strip())
        rule.body = body or None
    if len(words) == 4:
        add_header(rule, "Host", words[3])
    return rule


def parse_status_codes(pattern: str) -> list[tuple[int, int]]:
    """`200,201,300-310` -> [(200, 200), (201, 201), (300, 310)]."""
    codes = []
    for item in pattern.split(","):
        low, dash, high = item.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            bad = next((c for c in item if not c.isdigit() and c != "-"), item[:1] or ",")
            raise ValueError(f"invalid character '{bad}' in the list of status codes")
        first, last = int(low), int(high) if dash else int(low)
        if first > last:
            raise ValueError(f"invalid range of status codes '{pattern}'")
        codes.append((first, last))
    return codes


def parse_expect(words: list[str], http: bool) -> ExpectRule:
    """`tcp-check expect [min-recv N] [!] <match> <pattern> [...]` and its http-check twin."""
    if not words or words[0] == "":
        raise ValueError("expects at least a matching pattern as arguments")
    rule = ExpectRule(http=http)
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("!"):
            while word.startswith("!"):
                rule.inverse, word = not rule.inverse, word[1:]
            if word == "":
                i += 1
                continue
            words = words[:i] + [word] + words[i + 1 :]
            continue
        i = _expect_word(rule, words, i, http) + 1
    if not rule.kind:
        raise ValueError("pattern not found")
    _compile_pattern(rule)
    return rule


def _expect_word(rule: ExpectRule, words: list[str], i: int, http: bool) -> int:
    """Apply words[i] (and its argument) to `rule`; return the index of the last word used."""
    word = words[i]
    patterns_tcp = ("string", "rstring", "binary", "rbinary")
    patterns_http = ("string", "rstring", "status", "rstatus")
    if word in (patterns_http if http else patterns_tcp):
        if rule.kind:
            raise ValueError("only on pattern expected")
        rule.kind, rule.pattern = word, _value(words, i, f"'{word}' expects a <pattern> as argument")
        return i + 1
    if http and word in ("hdr", "fhdr"):
        if rule.kind:
            raise ValueError("only on pattern expected")
        rule.kind = "hdr"
        return _parse_hdr(rule, words, i)
    if word in ("string-lf", "binary-lf", "custom", "status-code"):
        raise ValueError(f"'{word}' is not supported by lb in health checks.")
    if word == "min-recv":
        text = _value(words, i, "'min-recv' expects a integer as argument")
        if not text.lstrip("-").isdigit() or not -1 <= int(text) <= INT_MAX:
            raise ValueError("'min-recv' expects -1 or an integer from 0 to INT_MAX")
        rule.min_recv = int(text)
        return i + 1
    if word in ("comment", "on-success", "on-error"):
        value = _value(words, i, f"'{word}' expects a string as argument")
        setattr(rule, word.replace("-", "_"), value)
        return i + 1
    if word in ("ok-status", "error-status", "tout-status"):
        return _parse_status_word(rule, words, i)
    raise ValueError((HTTP_EXPECT_HELP if http else TCP_EXPECT_HELP).format(word))


def _parse_status_word(rule: ExpectRule, words: list[str], i: int) -> int:
    word = words[i]
    allowed = {"ok-status": OK_STATUSES, "error-status": ERROR_STATUSES, "tout-status": TOUT_STATUSES}[word]
    value = _value(words, i, f"'{word}' expects a string as argument").upper()
    if value not in allowed:
        names = "', '".join(allowed)
        raise ValueError(f"'{word}' only supports '{names}' status (got '{words[i + 1]}').")
    setattr(rule, word.replace("-", "_"), value)
    return i + 1


def _parse_hdr(rule: ExpectRule, words: list[str], i: int) -> int:
    word = words[i]
    if i + 2 >= len(words) or words[i + 1] != "name":
        raise ValueError(f"'{word}' expects at the name keyword as first argument followed by a pattern")
    match = HeaderMatch(name="", full=word == "fhdr")
    i += 2
    match.name_match, i = _match_method(word, words, i)
    match.name = words[i]
    if i + 1 < len(words) and words[i + 1] == "value":
        i += 2
        if i >= len(words):
            raise ValueError(f"'{word}' expect a pattern with the value keyword")
        match.value_match, i = _match_method(word, words, i)
        if i >= len(words):
            raise ValueError(f"'{word}' expect a pattern with the value keyword")
        match.value = words[i]
    rule.hdr, rule.pattern = match, match.name
    return i


def _match_method(word: str, words: list[str], i: int) -> tuple[str, int]:
    """An optional `-m <meth>` before a header name or value pattern."""
    if i < len(words) and words[i] == "-m":
        if i + 1 >= len(words):
            raise ValueError(f"'{word}' : '-m' expects at a matching pattern ('str', 'beg', 'end', 'sub' or 'reg')")
        method = words[i + 1]
        if method not in MATCH_METHODS:
            raise ValueError(f"'{word}' : '-m' only supports 'str', 'beg', 'end', 'sub' or 'reg' (got '{method}')")
        return method, i + 2
    if i >= len(words):
        raise ValueError(f"'{word}' expects at the name keyword as first argument followed by a pattern")
    return "str", i


def _compile_pattern(rule: ExpectRule) -> None:
    """Turn the pattern text into what the checker matches against (once, at load)."""
    kind = rule.kind
    if kind == "string":
        rule.data = rule.pattern.encode("latin-1", "surrogateescape")
    elif kind == "binary":
        problem = hex_problem(rule.pattern)
        if problem:
            raise ValueError(f"invalid binary string ({problem})")
        rule.data = bytes.fromhex(rule.pattern)
    elif kind in ("rstring", "rbinary", "rstatus"):
        rule.regex = compile_regex(rule.pattern)
    elif kind == "status":
        rule.codes = parse_status_codes(rule.pattern)
    elif kind == "hdr" and rule.hdr is not None:
        if rule.hdr.name_match == "reg":
            rule.hdr.name_regex = compile_regex(rule.hdr.name, re.IGNORECASE)
        if rule.hdr.value is not None and rule.hdr.value_match == "reg":
            rule.hdr.value_regex = compile_regex(rule.hdr.value)


def status_index(code: str | None, default: int) -> int:
    """The shm status index of an ok-/error-/tout-status word, or `default` when unset."""
    return st.by_code(code) if code else default
