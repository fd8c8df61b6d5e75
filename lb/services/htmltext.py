"""Small text helpers of the stats page's HTML (worker; pure functions).

They reproduce how HAProxy's page writes numbers and durations, so that a
person used to HAProxy's page reads lb's the same way:
- `u2h`: digit groups marked with a letter-spaced span (HAProxy's ulltoh_r):
  the 4th, 7th, 10th... digit from the right is wrapped in
  `<span class="rls">`, so 31738 reads `3<span class="rls">1</span>738`;
- `lim2a`: a limit, or its alternative text when 0 (no limit);
- `human_time`: the two largest units of d/h/m/s ("1h5m", "0s", "?" for < 0).
"""

from __future__ import annotations

import html

from lb.stats.model import StatRow
from lb.stats.render import value


def u2h(number: int | None) -> str:
    """HAProxy's U2H(): an empty cell for a value lb does not fill."""
    if number is None:
        return ""
    digits = str(int(number))
    out = []
    for position, digit in enumerate(reversed(digits), 1):
        out.append(f'<span class="rls">{digit}</span>' if position > 3 and position % 3 == 1 else digit)
    return "".join(reversed(out))


def lim2a(number: int | None, alt: str = "-") -> str:
    """HAProxy's LIM2A(): the limit, or `alt` when there is none."""
    return str(number) if number else alt


def human_time(seconds: int | None) -> str:
    if seconds is None:
        return ""
    if seconds < 0:
        return "?"
    parts = []
    for unit, size, modulo in (("d", 86400, None), ("h", 3600, 24), ("m", 60, 60)):
        amount = seconds // size if modulo is None else seconds // size % modulo
        if amount and len(parts) < 2:
            parts.append(f"{amount}{unit}")
    if (len(parts) < 2 and seconds % 60) or not seconds:
        parts.append(f"{seconds % 60}s")
    return "".join(parts)


def esc(text: object) -> str:
    """Text in HTML (names are made of safe characters; check texts may not be)."""
    return html.escape(str(text), quote=True)


def num(row: StatRow, name: str) -> int | None:
    """A numeric field of a row, None when lb leaves it empty."""
    item = value(row, name)
    return item if isinstance(item, int) else None


def text(row: StatRow, name: str) -> str:
    item = value(row, name)
    return "" if item is None else str(item)


def tips(lines: list[tuple[str, str | None]]) -> str:
    """Rows of a hover table, leaving out those lb has no value for."""
    return "".join(f"<tr><th>{label}</th><td>{shown}</td></tr>" for label, shown in lines if shown is not None)


def rate(number: int | None) -> str | None:
    return None if number is None else f"{u2h(number)}/s"


def hover(shown: str, rows: str) -> str:
    """A cell value with its detail table shown on hover."""
    return f"<u>{shown}<div class=tips><table class=det>{rows}</table></div></u>"
