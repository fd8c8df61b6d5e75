"""Headless Chromium for the stats page tests: the DOM it built and the pixels it drew (tests only).

`load(url, directory)` runs Debian's `chromium --headless` twice on a page:
`--dump-dom` for the document as the browser parsed it, `--screenshot` for
what a person sees, kept in `directory` (the test's tmp output).  `rows()`
reads the stats tables from the DOM as a person reads them (hover tips left
out); `colours()` counts the pixels of each colour of the screenshot
(a small PNG decoder: Chromium writes 8-bit RGB/RGBA, not interlaced).
"""

from __future__ import annotations

import html.parser
import shutil
import struct
import subprocess
import zlib
from collections import Counter
from pathlib import Path

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--disable-dev-shm-usage",
         "--no-first-run", "--force-color-profile=srgb", "--disable-quic", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]  # fmt: skip  (no network beyond loopback)


def run(args: list[str], directory: Path) -> str:
    assert CHROMIUM is not None
    done = subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={directory / 'profile'}", *args],
                          capture_output=True, text=True, timeout=90)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def load(url: str, directory: Path, size: str = "1600,1000") -> tuple[str, Path]:
    """(the DOM, the screenshot's path) of `url`."""
    dom = run(["--dump-dom", url], directory)
    shot = directory / "stats.png"
    run([f"--screenshot={shot}", f"--window-size={size}", url], directory)
    assert shot.exists()
    return dom, shot


class Tables(html.parser.HTMLParser):
    """Rows of the page's tables: (row class, [visible cell texts])."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, list[str]]] = []
        self.hidden = 0  # depth inside div.tips
        self.cell: list[str] | None = None
        self.depth = 0  # nested tables (the hover details) are part of a tip

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if self.hidden:
            self.hidden += tag == "div"
        elif tag == "div" and attributes.get("class") == "tips":
            self.hidden = 1
        elif tag == "tr":
            self.rows.append((attributes.get("class") or "", []))
        elif tag in ("td", "th") and self.rows:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if self.hidden:
            self.hidden -= tag == "div"
        elif tag in ("td", "th") and self.cell is not None:
            self.rows[-1][1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None and not self.hidden:
            self.cell.append(data)


def rows(dom: str) -> list[tuple[str, list[str]]]:
    parser = Tables()
    parser.feed(dom)
    return parser.rows


def server_rows(dom: str) -> dict[str, tuple[str, list[str]]]:
    """Server name -> (row class, cells) for the rows with a server checkbox or name."""
    found = {}
    for css, cells in rows(dom):
        if css.startswith(("active_", "backup_", "maintain")):
            name = next(cell for cell in cells if cell)
            found[name] = (css, cells)
    return found


def colours(png: Path) -> Counter[tuple[int, int, int]]:
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour_type, _c, _f, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour_type in (2, 6) and not interlace
    channels = 3 if colour_type == 2 else 4
    raw, stride = zlib.decompress(b"".join(chunks)), width * channels
    counts: Counter[tuple[int, int, int]] = Counter()
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, channels)
        for x in range(0, stride, channels):
            counts[(line[x], line[x + 1], line[x + 2])] += 1
        previous = line
    return counts


def unfilter(kind: int, line: bytearray, previous: bytearray, bpp: int) -> bytearray:
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up, upper_left = previous[i], previous[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            estimate = left + up - upper_left
            pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - upper_left)
            line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else upper_left)) & 0xFF
    return line


def hex_colour(text: str) -> tuple[int, int, int]:
    return (int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16))
