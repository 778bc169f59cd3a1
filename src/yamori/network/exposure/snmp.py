"""SNMP v1/v2c GET of sysDescr.0 with a guessable community, BER encoded by hand (RFC 1157,
RFC 3416): the packet is five nested TLVs, smaller than any library that would build it."""

from __future__ import annotations

SYS_DESCR = "1.3.6.1.2.1.1.1.0"
VERSIONS = {"v1": 0, "v2c": 1}
GET_REQUEST, GET_RESPONSE = 0xA0, 0xA2
INTEGER, OCTET_STRING, NULL, OID, SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30
V2_EXCEPTIONS = (0x80, 0x81, 0x82)      # noSuchObject, noSuchInstance, endOfMibView


def _tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + value


def _int(value: int) -> bytes:
    return _tlv(INTEGER, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def _oid(dotted: str) -> bytes:
    arcs = [int(a) for a in dotted.split(".")]
    out = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(chunk))
    return _tlv(OID, bytes(out))


def get_request(version: str, community: str, request_id: int, oid: str = SYS_DESCR) -> bytes:
    varbind = _tlv(SEQUENCE, _oid(oid) + _tlv(NULL, b""))
    pdu = _tlv(GET_REQUEST, _int(request_id) + _int(0) + _int(0) + _tlv(SEQUENCE, varbind))
    return _tlv(SEQUENCE, _int(VERSIONS[version]) + _tlv(OCTET_STRING, community.encode()) + pdu)


def _read(data: bytes, at: int) -> tuple[int, bytes, int]:
    """One TLV at `at` -> (tag, value, offset after it). Raises ValueError past the end."""
    if at + 2 > len(data):
        raise ValueError("truncated")
    tag, first = data[at], data[at + 1]
    at += 2
    if first & 0x80:
        size = first & 0x7F
        if size == 0 or size > 4 or at + size > len(data):
            raise ValueError("bad length")
        length = int.from_bytes(data[at:at + size], "big")
        at += size
    else:
        length = first
    if at + length > len(data):
        raise ValueError("truncated")
    return tag, data[at:at + length], at + length


def _integer(data: bytes, at: int) -> tuple[int, int]:
    tag, value, at = _read(data, at)
    if tag != INTEGER or not value or len(value) > 8:
        raise ValueError("expected INTEGER")
    return int.from_bytes(value, "big", signed=True), at


def granted(data: bytes, version: str, community: str, request_id: int) -> bool:
    """A GetResponse to our request with no error and a real value for the first variable."""
    try:
        tag, body, _ = _read(data, 0)
        if tag != SEQUENCE:
            return False
        ver, at = _integer(body, 0)
        tag, comm, at = _read(body, at)
        ptag, pdu, _ = _read(body, at)
        if ver != VERSIONS[version] or tag != OCTET_STRING or comm != community.encode() or ptag != GET_RESPONSE:
            return False
        rid, at = _integer(pdu, 0)
        status, at = _integer(pdu, at)
        _index, at = _integer(pdu, at)
        _, varbinds, _ = _read(pdu, at)
        _, first, _ = _read(varbinds, 0)
        _, _name, at = _read(first, 0)
        vtag, _value, _ = _read(first, at)
    except ValueError:
        return False
    return rid == request_id and status == 0 and vtag not in (NULL, *V2_EXCEPTIONS)
