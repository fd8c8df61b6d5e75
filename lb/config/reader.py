"""Reading a configuration file line by line, within bounds (master, cli).

HAProxy 2.6 reads its configuration with fgets() into a line buffer that it
doubles without limit (`readcfgfile()`), so `haproxy -c` on a file holding
one 4 GB line allocates 4 GB.  lb keeps the memory and the time of a
configuration read bounded, whatever the file is (README, "Deviations from
HAProxy"):

- a line holds at most MAX_LINE_BYTES bytes before its LF: a longer one is
  reported ("line too long") and skipped up to its LF, and the reading goes
  on, so every other problem of the file is still reported;
- at most MAX_FILE_BYTES bytes of a file are read: past them, "file too
  large" and the rest is left unread;
- a file that is not a regular one (pipe, FIFO, terminal, device) is read
  without blocking, for at most READ_TIMEOUT seconds in all: a FIFO that no
  one writes to ends with "timed out" instead of hanging the master.

The rest is HAProxy's: lines end at LF only.  A NUL ends the text of its
line (fgets() then strlen()); if anything follows that line, HAProxy stops
with "Stray NUL character", otherwise the line was the last one and misses
its LF.  So /dev/zero is refused at its first byte, as HAProxy does.  Only
the first MAX_LINE_BYTES bytes of a line are searched for a NUL.
"""

from __future__ import annotations

import errno
import os
import select
import stat
import time
from dataclasses import dataclass
from typing import Callable, Iterator

MAX_LINE_BYTES = 1 << 20  # 1 MiB: a line has at most 64 words; the longest real ones are a few kB
MAX_FILE_BYTES = 32 << 20  # 32 MiB: about 400,000 server lines, read in well under a minute
READ_TIMEOUT = 10.0  # seconds to read all of a pipe, FIFO or device
CHUNK = 1 << 16

# How a line ended.
END_LF = "lf"
END_EOF = "eof"  # the last line, without LF
END_NUL = "nul"  # a NUL cut the line: `position` is where
END_LONG = "long"  # more than MAX_LINE_BYTES before the LF: skipped, `text` is empty


@dataclass(frozen=True)
class RawLine:
    number: int
    text: str  # without its LF, cut at a NUL; bytes that are not UTF-8 kept as surrogates
    end: str = END_LF
    position: int = 0  # END_NUL: 1-based byte offset of the NUL; END_EOF: length + 1
    more: bool = False  # END_NUL: something follows this line (HAProxy's "Stray NUL")


@dataclass(frozen=True)
class ReadProblem:
    """The file cannot be read further: reported at line `number`, then the file ends."""

    number: int
    message: str


class _Stop(Exception):
    """Reading must end here; the message is the diagnostic."""


class LineReader:
    """The lines of one file, from `read(n)` (bytes, b"" at the end); `number` counts the lines read."""

    def __init__(self, read: Callable[[int], bytes], max_line: int = MAX_LINE_BYTES,
                 max_file: int = MAX_FILE_BYTES) -> None:
        self._read, self.max_line, self.max_file = read, max_line, max_file
        self.buf = b""
        self.pos = 0  # start of the unread part of buf
        self.total = 0  # bytes read from the file so far
        self.eof = False
        self.number = 0

    @classmethod
    def of_text(cls, text: str, **limits: int) -> LineReader:
        """A reader over `text` as if it were a file's content."""
        data = memoryview(text.encode("utf-8", "surrogateescape"))
        offset = 0

        def read(size: int) -> bytes:
            nonlocal offset
            chunk = bytes(data[offset : offset + size])
            offset += len(chunk)
            return chunk

        return cls(read, **limits)

    def __iter__(self) -> Iterator[RawLine | ReadProblem]:
        try:
            while (line := self._next_line()) is not None:
                yield line
                if line.end == END_NUL:
                    return  # nothing after a NUL is read, as HAProxy
        except _Stop as stop:
            yield ReadProblem(self.number, str(stop))

    # -- the buffer ---------------------------------------------------------------
    def _fill(self) -> bool:
        """Append one chunk to the buffer; False at the end of the file."""
        if self.eof:
            return False
        room = self.max_file - self.total
        chunk = self._read(min(CHUNK, room) if room > 0 else 1)
        if chunk and room <= 0:
            raise _Stop(f"file too large (more than {self.max_file} bytes), stopping now.")
        if not chunk:
            self.eof = True
            return False
        self.total += len(chunk)
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        return True

    # -- lines ---------------------------------------------------------------------
    def _next_line(self) -> RawLine | None:
        self.number += 1  # before reading: a problem met while reading is on this line
        if self.pos == len(self.buf) and not self._fill():
            self.number -= 1
            return None
        scanned = 0  # offsets from self.pos, which a refill moves
        window = self.max_line + 1  # the LF may follow a line of max_line bytes
        while True:
            end = min(len(self.buf) - self.pos, window)
            lf = self.buf.find(b"\n", self.pos + scanned, self.pos + end)
            nul = self.buf.find(b"\0", self.pos + scanned, lf if lf >= 0 else self.pos + end)
            if nul >= 0:
                return self._nul_line(nul)
            if lf >= 0:
                return self._take(lf, END_LF)
            if end == window:
                return self._long_line()
            scanned = end
            if not self._fill():
                return self._take(len(self.buf), END_EOF)

    def _take(self, end: int, how: str) -> RawLine:
        text = self.buf[self.pos : end]
        self.pos = end + 1 if how == END_LF else end
        position = len(text) + 1 if how == END_EOF else 0
        return RawLine(self.number, text.decode("utf-8", "surrogateescape"), how, position)

    def _nul_line(self, nul: int) -> RawLine:
        text = self.buf[self.pos : nul].decode("utf-8", "surrogateescape")
        position = nul - self.pos + 1
        self.pos = nul + 1
        return RawLine(self.number, text, END_NUL, position, self._more_after_line())

    def _more_after_line(self) -> bool:
        """After a NUL: is there anything past this line's LF?  A line whose
        LF is not within MAX_LINE_BYTES, or a file that cannot be read
        further, counts as followed by more."""
        budget = self.max_line
        try:
            while True:
                lf = self.buf.find(b"\n", self.pos, self.pos + budget)
                if lf >= 0:
                    self.pos = lf + 1
                    return self.pos < len(self.buf) or self._fill()
                budget -= len(self.buf) - self.pos
                self.pos = len(self.buf)
                if budget <= 0:
                    return True
                if not self._fill():
                    return False
        except _Stop:
            return True

    def _long_line(self) -> RawLine:
        """Skip to the LF of a line over the limit, keeping nothing of it."""
        while True:
            lf = self.buf.find(b"\n", self.pos)
            if lf >= 0:
                self.pos = lf + 1
                break
            self.pos = len(self.buf)
            if not self._fill():
                break
        return RawLine(self.number, "", END_LONG)


# -- files -------------------------------------------------------------------------------


class ConfigFile:
    """One configuration file opened for reading: `with ConfigFile(path) as f: for x in f.lines()`.

    Opening never blocks (O_NONBLOCK, so a FIFO without writer opens at
    once) and raises OSError like open() does, a directory included.
    """

    def __init__(self, path: str, timeout: float = READ_TIMEOUT) -> None:
        self.fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            mode = os.fstat(self.fd).st_mode
        except OSError:
            os.close(self.fd)
            raise
        if stat.S_ISDIR(mode):
            os.close(self.fd)
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        self.regular = stat.S_ISREG(mode)
        self.deadline = time.monotonic() + timeout
        self.timeout = timeout
        self.reader = LineReader(self.read)

    def __enter__(self) -> ConfigFile:
        return self

    def __exit__(self, *exc: object) -> None:
        os.close(self.fd)

    def lines(self) -> Iterator[RawLine | ReadProblem]:
        return iter(self.reader)

    def read(self, size: int) -> bytes:
        """Up to `size` bytes; a pipe or device is waited for until the deadline."""
        while True:
            if not self.regular:
                self._wait_readable()
            try:
                return os.read(self.fd, size)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as exc:
                raise _Stop(f"cannot read the file: {exc.strerror}, stopping now.") from None

    def _wait_readable(self) -> None:
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        remaining = self.deadline - time.monotonic()
        if remaining <= 0 or not poller.poll(remaining * 1000):
            raise _Stop(f"could not read the whole file within {self.timeout:g} seconds "
                        "(a pipe, FIFO or device), stopping now.")  # fmt: skip


__all__ = ["LineReader", "ConfigFile", "RawLine", "ReadProblem", "MAX_LINE_BYTES", "MAX_FILE_BYTES",
           "READ_TIMEOUT", "END_LF", "END_EOF", "END_NUL", "END_LONG"]  # fmt: skip
