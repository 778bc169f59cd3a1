"""Point the database's DNS name at the new primary: an RFC 2136 update signed with TSIG
(dnspython), or the exact change for the operator to make when no DNS server is configured."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass

from ...config.postgres import DnsSettings


class DnsError(Exception):
    pass


@dataclass(frozen=True, slots=True)
class RecordChange:
    name: str  # fully qualified
    rdtype: str  # A, AAAA or CNAME
    value: str
    ttl: int

    def text(self) -> str:
        return f"{self.name} {self.ttl} IN {self.rdtype} {self.value}"

    def nsupdate_script(self, server: str = "SERVER", port: int = 53) -> str:
        return (f"server {server} {port}\nupdate delete {self.name} A\nupdate delete {self.name} AAAA\n"
                f"update delete {self.name} CNAME\nupdate add {self.text()}\nsend\n")


def record_change(dns: DnsSettings | None, address: str) -> RecordChange:
    """What the record must become for `address` (an IP, or a host name -> CNAME)."""
    try:
        rdtype = "AAAA" if ipaddress.ip_address(address).version == 6 else "A"
    except ValueError:
        rdtype, address = "CNAME", address.rstrip(".") + "."
    if dns is None:
        return RecordChange("<the name your application connects to>", rdtype, address, 60)
    zone = dns.zone.rstrip(".") + "."
    name = zone if dns.record in ("@", "") else f"{dns.record.rstrip('.')}.{zone}"
    return RecordChange(name, rdtype, address, dns.ttl)


def _keyring(settings: DnsSettings) -> tuple[object | None, str | None]:
    import dns.tsigkeyring

    if settings.key_name is None:
        return None, None
    env = settings.key_secret_env
    secret = os.environ.get(env) if env else settings.key_secret
    if not secret:
        raise DnsError(f"TSIG key {settings.key_name}: no secret (set ${env or 'key_secret_env'})")
    return dns.tsigkeyring.from_text({settings.key_name: secret}), settings.key_algorithm


def apply_change(settings: DnsSettings, change: RecordChange, timeout: float = 10) -> str:
    """Replace the record in one signed UPDATE (delete A/AAAA/CNAME, add the new one) over TCP."""
    import dns.exception
    import dns.query
    import dns.rcode
    import dns.update

    keyring, algorithm = _keyring(settings)
    zone = settings.zone.rstrip(".") + "."
    update = dns.update.UpdateMessage(zone, keyring=keyring, keyalgorithm=algorithm)  # type: ignore[arg-type]
    for rdtype in ("A", "AAAA", "CNAME"):
        update.delete(change.name, rdtype)
    update.add(change.name, change.ttl, change.rdtype, change.value)
    try:
        response = dns.query.tcp(update, settings.server, port=settings.port, timeout=timeout)
    except (dns.exception.DNSException, OSError) as err:
        raise DnsError(f"update to {settings.server}:{settings.port} failed: {err}") from err
    code = response.rcode()
    if code != dns.rcode.NOERROR:
        raise DnsError(f"{settings.server}:{settings.port} refused the update: {dns.rcode.to_text(code)}")
    return f"{change.text()} (updated on {settings.server}:{settings.port})"


def query_record(settings: DnsSettings, change: RecordChange, timeout: float = 5) -> list[str]:
    """Ask the same server what the record is now (the check after the update)."""
    import dns.message
    import dns.query

    response = dns.query.tcp(dns.message.make_query(change.name, change.rdtype), settings.server,
                             port=settings.port, timeout=timeout)
    return sorted(r.to_text() for rrset in response.answer for r in rrset if rrset.rdtype.name == change.rdtype)
