"""Fetches on the first bytes of a connection: pure functions over a bytes buffer (worker).

HAProxy's src/payload.c for what lb needs in mode tcp: the request length,
fixed and length-prefixed slices, the TLS ClientHello (handshake type,
version, SNI, ALPN) and the RDP cookie.  Each function takes the bytes
received so far and returns `(value, more)`:

- `(value, False)`: the sample, final;
- `(value, True)`: a sample that may still change (req.len, payload(x,0));
- `(None, True)`: not enough bytes yet to tell (HAProxy's SMP_F_MAY_CHANGE:
  a rule waits for more data while `tcp-request inspect-delay` runs);
- `(None, False)`: no sample and there will never be one (not TLS, no SNI).

The checks and their order are HAProxy's, so a ClientHello split over
several segments, a truncated one, or bytes that are not TLS give the
same answers as in HAProxy: the SNI is only read once the whole handshake
message announced by its header is there.
"""

from __future__ import annotations

Result = tuple[object, bool]
NEED_MORE: Result = (None, True)
NEVER: Result = (None, False)
BUFSIZE = 16384  # tune.bufsize: payload fetches beyond it can never match
RECV_LIMIT = 16384 - 1024  # what one request buffer may hold (bufsize - maxrewrite)


def req_len(data: bytes) -> Result:
    return len(data), True


def payload(data: bytes, offset: int, length: int, bufsize: int = BUFSIZE, final: bool = False) -> Result:
    """req.payload(offset,length): `length` 0 means up to the end of what is there."""
    if length > bufsize or offset + length > bufsize:
        return NEVER
    if offset + length > len(data):
        return NEED_MORE
    end = offset + length if length else len(data)
    return data[offset:end].decode("latin-1"), not length and not final


def payload_lv(data: bytes, len_offset: int, len_size: int, buf_offset: int | None = None,
               relative: bool = False, bufsize: int = BUFSIZE) -> Result:  # fmt: skip
    """req.payload_lv(len_offset,len_size[,buf_offset]): a block whose length is read
    from the buffer (big-endian, `len_size` bytes); `buf_offset` absolute, or relative
    to the end of the length field when written with a sign."""
    if len_offset + len_size > len(data):
        return NEED_MORE
    size = int.from_bytes(data[len_offset : len_offset + len_size], "big")
    start = len_offset + len_size
    if buf_offset is not None:
        start = start + buf_offset if relative else buf_offset
    if not size or size > bufsize or start + size > bufsize:
        return NEVER
    if start + size > len(data):
        return NEED_MORE
    return data[start : start + size].decode("latin-1"), False


def ssl_hello_type(data: bytes) -> Result:
    """req.ssl_hello_type: the handshake type of a complete first TLS record (1: ClientHello)."""
    if not data:
        return NEED_MORE
    if not (0x14 <= data[0] <= 0x17 or data[0] == 0xFF):
        return NEVER
    if len(data) < 9:
        return NEED_MORE
    if (data[1] << 16) + data[2] < 0x00030000 or (data[3] << 8) + data[4] < 4:
        return NEVER
    hs_len = (data[6] << 16) + (data[7] << 8) + data[8]
    if len(data) < 9 + hs_len:
        return NEED_MORE
    return data[5], False


def ssl_version(data: bytes, recv_limit: int = RECV_LIMIT) -> Result:
    """req.ssl_ver: the ClientHello's version (0x0303 for TLS 1.2 and 1.3 hellos; SSLv2 hellos too)."""
    if not data:
        return NEED_MORE
    if 0x14 <= data[0] <= 0x17 or data[0] == 0xFF:
        if len(data) < 11:
            return NEED_MORE
        if (data[1] << 16) + data[2] < 0x00030000:
            return NEVER
        msg_len = (data[3] << 8) + data[4]
        if msg_len < 6 or msg_len > (1 << 14) + 2048:
            return NEVER
        version, left = (data[9] << 16) + data[10], len(data) - 5
    else:
        parsed = _sslv2_hello(data)
        if parsed is None or parsed == NEED_MORE:
            return NEVER if parsed is None else NEED_MORE
        version, msg_len, left = parsed  # type: ignore[misc]
    if left < min(msg_len, recv_limit):
        return NEED_MORE
    return version, False


def _sslv2_hello(data: bytes) -> tuple[int, int, int] | Result | None:
    """(version, remaining length, bytes left) of an SSLv2 hello header, NEED_MORE, or None."""
    if data[0] & 0x80:
        if len(data) < 3:
            return NEED_MORE
        rlen, plen, pos = ((data[0] & 0x7F) << 8) | data[1], 0, 2
    else:
        if len(data) < 4:
            return NEED_MORE
        rlen, plen, pos = ((data[0] & 0x3F) << 8) | data[1], data[2], 3
    if data[pos] != 0x01:
        return None
    pos += 1
    if len(data) - pos < 8:
        return NEED_MORE
    version = (data[pos] << 16) + data[pos + 1]
    cilen, silen, chlen = (int.from_bytes(data[pos + i : pos + i + 2], "big") for i in (2, 4, 6))
    if cilen % 3 or (silen and silen != 16) or not 16 <= chlen <= 32 or rlen != 9 + cilen + silen + chlen:
        return None
    return version, cilen + silen + chlen + plen, len(data) - pos - 8


class _Stop(Exception):
    """Ends a ClientHello walk early with its Result (need more bytes, or never)."""

    def __init__(self, result: Result) -> None:
        super().__init__()
        self.result = result


def _check(ok: bool, result: Result = NEVER) -> None:
    if not ok:
        raise _Stop(result)


def _extensions(data: bytes) -> tuple[int, int]:
    """(start, length) of the extension block of a complete ClientHello; _Stop otherwise.

    The checks and their order are HAProxy's smp_fetch_ssl_hello_sni()."""
    _check(len(data) >= 1, NEED_MORE)
    _check(data[0] == 0x16)
    _check(len(data) >= 3, NEED_MORE)
    _check(data[1] >= 0x03)
    _check(len(data) >= 5, NEED_MORE)
    _check((data[3] << 8) + data[4] >= 1 + 3 + 2 + 32 + 1 + 2 + 2 + 1 + 1 + 2 + 2)
    _check(len(data) >= 6, NEED_MORE)
    _check(data[5] == 0x01)
    _check(len(data) >= 9, NEED_MORE)
    hs_len = (data[6] << 16) + (data[7] << 8) + data[8]
    _check(hs_len >= 2 + 32 + 1 + 2 + 2 + 1 + 1 + 2 + 2)
    _check(len(data) - 5 >= hs_len, NEED_MORE)  # HAProxy compares with what follows the record header
    pos = 9
    _check(data[pos] >= 0x03 and data[pos + 1] >= 0x01)  # TLSv1 minimum
    sid_len = data[pos + 34]
    _check(sid_len <= 32 and sid_len <= hs_len - 35)
    hs_len -= 35 + sid_len
    pos += 35 + sid_len
    _check(hs_len >= 4)
    ciphers = (data[pos] << 8) + data[pos + 1]
    _check(2 <= ciphers <= hs_len)
    hs_len -= 2 + ciphers
    pos += 2 + ciphers
    _check(hs_len >= 2 and 1 <= data[pos] <= hs_len)
    hs_len -= 1 + data[pos]
    pos += 1 + data[pos]
    _check(hs_len >= 2)
    ext_total = (data[pos] << 8) + data[pos + 1]
    _check(ext_total <= hs_len - 2)
    return pos + 2, ext_total


def _find_extension(data: bytes, wanted: int) -> tuple[int, int]:
    """(start, length) of extension `wanted` in a complete ClientHello; _Stop otherwise."""
    pos, left = _extensions(data)
    while left >= 4:
        ext_type = (data[pos] << 8) + data[pos + 1]
        ext_len = (data[pos + 2] << 8) + data[pos + 3]
        _check(ext_len <= left - 4)
        if ext_type == wanted:
            return pos, ext_len
        left -= 4 + ext_len
        pos += 4 + ext_len
    raise _Stop(NEVER)


def ssl_sni(data: bytes) -> Result:
    """req.ssl_sni: the host name of the ClientHello's server_name extension, as sent."""
    try:
        return _sni(data)
    except _Stop as stop:
        return stop.result
    except IndexError:  # HAProxy accepts a hello up to 4 bytes short and reads on; lb waits
        return NEED_MORE


def _sni(data: bytes) -> Result:
    pos, left = _extensions(data)
    while left >= 4:
        ext_type = (data[pos] << 8) + data[pos + 1]
        ext_len = (data[pos + 2] << 8) + data[pos + 3]
        _check(ext_len <= left - 4)
        if ext_type == 0:  # server_name: checked against what is left of the block, as HAProxy does
            _check(ext_len >= 2)
            srv_len = (data[pos + 4] << 8) + data[pos + 5]
            _check(4 <= srv_len <= left - 6)
            if data[pos + 6] == 0:  # host_name
                name_len = (data[pos + 7] << 8) + data[pos + 8]
                return data[pos + 9 : pos + 9 + name_len].decode("latin-1"), False
        left -= 4 + ext_len
        pos += 4 + ext_len
    return NEVER


def ssl_alpn(data: bytes) -> list[str] | Result:
    """req.ssl_alpn: the protocol names of the ALPN extension, in the client's order
    (a list: the fetch gives the first, an ACL tries each), or a Result."""
    try:
        pos, ext_len = _find_extension(data, 16)
    except _Stop as stop:
        return stop.result
    except IndexError:
        return NEED_MORE
    if ext_len < 3:
        return NEVER
    names: list[str] = []
    offset = 6
    while True:
        name_len = data[pos + offset]
        if name_len + offset - 3 > ext_len:
            return names or NEVER
        names.append(data[pos + offset + 1 : pos + offset + 1 + name_len].decode("latin-1"))
        if name_len + offset - 3 >= ext_len:
            return names
        offset += name_len + 1


def rdp_cookie(data: bytes, name: str = "") -> Result:
    """req.rdp_cookie([name]): the value of the `Cookie: <name>=<value>\\r\\n` line of an
    RDP connection request (any cookie when no name is given)."""
    if len(data) <= 11:
        return NEED_MORE
    pos, left = 11, len(data) - 11
    if left <= 7:
        return NEED_MORE
    if data[pos : pos + 7].lower() != b"cookie:":
        return NEVER
    pos, left = pos + 7, left - 7
    while left > 0 and data[pos] == 0x20:
        pos, left = pos + 1, left - 1
    if name:
        raw = name.encode("latin-1")
        if left <= len(raw):
            return NEED_MORE
        if data[pos + len(raw)] != 0x3D or data[pos : pos + len(raw)].lower() != raw.lower():
            return NEVER
        pos, left = pos + len(raw) + 1, left - len(raw) - 1
    else:
        while left > 0 and data[pos] != 0x3D:
            if data[pos] in (0x0D, 0x0A):
                return NEVER
            pos, left = pos + 1, left - 1
        if left < 1:
            return NEED_MORE
        pos, left = pos + 1, left - 1
    start = pos
    while left > 0 and data[pos] != 0x0D:
        pos, left = pos + 1, left - 1
    if left < 2:
        return NEED_MORE
    if data[pos + 1] != 0x0A:
        return NEVER
    return data[start:pos].decode("latin-1"), False
