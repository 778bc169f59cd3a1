"""The inetd "small services": CHARGEN (udp/19) answers any datagram with up to 512 characters,
QOTD (udp/17) with a quotation. Any non-empty answer counts."""

from __future__ import annotations

REQUEST = b"\r\n"


def request() -> bytes:
    return REQUEST


def answered(data: bytes) -> bool:
    return len(data) > 0
