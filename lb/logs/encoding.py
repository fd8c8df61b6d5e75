"""Escaping of logged strings, both ways (worker encodes, cli decodes).

HAProxy never writes a non-printable byte into a log line (cfg §8.6): bytes
below 32 or above 126 become `#XX`, and so do `#` itself and `"`; header
captures (%hr %hs) also encode `{`, `|` and `}`.  The `E` flag then
backslash-escapes `"`, `\\` and `]` (RFC5424 PARAM-VALUE rules) in what is
left.  Strings are expected as raw bytes decoded with latin-1 (one char per
byte, as workers decode what they read); a char above U+00FF is encoded as
its UTF-8 bytes.

The patterns are compiled at import time: nothing is compiled per line, and
the common case (nothing to escape) costs one `search` call.
"""

from __future__ import annotations

import ipaddress
import re

_URL_UNSAFE = re.compile('[\x00-\x1f"#\x7f-\U0010ffff]')  # %r %HU ...: HAProxy's url_encode_map
_HEADER_UNSAFE = re.compile('[\x00-\x1f"#{|}\x7f-\U0010ffff]')  # %hr %hs: hdr_encode_map
_RFC5424_UNSAFE = re.compile(r'["\\\]]')  # the E flag
_ENCODED = re.compile("#([0-9A-Fa-f]{2})")


def _hex(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if code < 256:
        return f"#{code:02X}"
    return "".join(f"#{byte:02X}" for byte in char.encode("utf-8", "surrogateescape"))


def encode_url(text: str) -> str:
    """Request line and its parts: `"` -> `#22`, `#` -> `#23`, non-printables -> `#XX`."""
    # Three C-speed scans decide the common case faster than a regex search.
    if text.isascii() and text.isprintable() and '"' not in text and "#" not in text:
        return text
    return _URL_UNSAFE.sub(_hex, text)


def encode_header(text: str) -> str:
    """A captured header value: as encode_url, plus `{ | }`."""
    return _HEADER_UNSAFE.sub(_hex, text) if _HEADER_UNSAFE.search(text) else text


def escape_rfc5424(text: str) -> str:
    """The E flag: backslash before `"`, `\\` and `]`."""
    return _RFC5424_UNSAFE.sub(r"\\\g<0>", text) if _RFC5424_UNSAFE.search(text) else text


def decode(text: str) -> str:
    """`#XX` back to the byte it stands for (as a latin-1 char)."""
    return _ENCODED.sub(lambda m: chr(int(m.group(1), 16)), text) if "#" in text else text


def hex_ip(ip: str) -> str:
    """The X flag on an address: `127.0.0.1` -> `7F000001` (32 digits for IPv6)."""
    return ipaddress.ip_address(ip).packed.hex().upper()
