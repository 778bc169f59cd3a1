"""memcached's UDP protocol: an 8-byte frame header (request id, sequence, datagram count,
reserved) before a text command; `stats` over UDP was the 2018 record amplifier."""

from __future__ import annotations

import struct

FRAME = struct.Struct("!HHHH")


def stats(request_id: int) -> bytes:
    return FRAME.pack(request_id & 0xFFFF, 0, 1, 0) + b"stats\r\n"


def answered(data: bytes, request_id: int) -> bool:
    if len(data) < FRAME.size + 5:
        return False
    rid, _seq, total, _ = FRAME.unpack_from(data)
    return rid == request_id & 0xFFFF and total >= 1 and data[FRAME.size:FRAME.size + 5] == b"STAT "
