"""Open DNS recursion: ask for a name outside the device's own zones with RD set; a
non-authoritative NOERROR/NXDOMAIN answer with RA set means it resolves for anyone."""

from __future__ import annotations


def query(name: str, qid: int) -> bytes:
    import dns.message
    import dns.rdatatype

    msg = dns.message.make_query(name, dns.rdatatype.A, use_edns=0, payload=1232)
    msg.id = qid & 0xFFFF
    return bytes(msg.to_wire())


def recursion_granted(data: bytes, qid: int) -> bool:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.rcode

    try:
        msg = dns.message.from_wire(data)
    except (dns.exception.DNSException, ValueError, IndexError):
        return False
    if msg.id != qid & 0xFFFF or not msg.flags & dns.flags.QR or not msg.flags & dns.flags.RA:
        return False
    if msg.flags & dns.flags.AA:
        return False     # the device's own zone: authority, not recursion
    return msg.rcode() == dns.rcode.NXDOMAIN or (msg.rcode() == dns.rcode.NOERROR and bool(msg.answer))
