"""NTP control (mode 6, RFC 9327) READVAR and the old private (mode 7) MON_GETLIST ("monlist")
request: the two NTP queries amplification attacks use."""

from __future__ import annotations

import struct

MODE6_HEADER = struct.Struct("!BBHHHHH")     # LI/VN/mode, R/E/M/opcode, sequence, status, assoc, offset, count
READVAR = 2
IMPL_XNTPD = 3
MON_GETLIST_1 = 42


def mode6_readvar(sequence: int) -> bytes:
    """READVAR for association 0 (the system variables: version, leap, stratum, ...)."""
    return MODE6_HEADER.pack((2 << 3) | 6, READVAR, sequence & 0xFFFF, 0, 0, 0, 0)


def mode6_granted(data: bytes, sequence: int) -> bool:
    """A response (R bit) to our READVAR without the error bit: the variables were given out."""
    if len(data) < MODE6_HEADER.size:
        return False
    first, op, seq, _status, _assoc, _offset, count = MODE6_HEADER.unpack_from(data)
    if first & 0x07 != 6 or op & 0x1F != READVAR or seq != sequence & 0xFFFF:
        return False
    return bool(op & 0x80) and not op & 0x40 and count > 0


def mode7_monlist() -> bytes:
    """An unauthenticated MON_GETLIST_1 request, padded to the 48 bytes ntpdc sends."""
    return struct.pack("!BBBB", (2 << 3) | 7, 0, IMPL_XNTPD, MON_GETLIST_1) + b"\0" * 44


def mode7_granted(data: bytes) -> bool:
    """A mode 7 response to MON_GETLIST_1 with no error and at least one item."""
    if len(data) < 8:
        return False
    first, _seq, impl, code, err_items, _size = struct.unpack_from("!BBBBHH", data)
    return (first & 0x80 != 0 and first & 0x07 == 7 and impl in (2, 3) and code == MON_GETLIST_1
            and err_items >> 12 == 0 and err_items & 0x0FFF > 0)
