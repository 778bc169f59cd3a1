"""[[network.dns]]: a name must resolve to the expected addresses at every resolver named (after a
failover's DNS switch, for dynamic DNS). Each resolver is asked directly (dnspython), never
through this host's own resolver configuration."""

from __future__ import annotations

import asyncio
import ipaddress
import time
from dataclasses import dataclass

from ..config import Settings
from ..config.network import DnsEntry, parse_resolver
from ..probe import Probe
from ..records import Finding, Record, Sample, Severity

SHOWN = 8  # addresses quoted in a message: a hostile resolver may answer with hundreds


@dataclass(frozen=True, slots=True)
class Answer:
    resolver: str
    addresses: frozenset[str]
    error: str | None = None       # timeout, NXDOMAIN, SERVFAIL ...
    rtt_ms: float | None = None


def record_types(expect: list[str]) -> list[str]:
    kinds = {"A" if ipaddress.ip_address(a).version == 4 else "AAAA" for a in expect}
    return sorted(kinds)


async def ask(name: str, resolver: str, rdtypes: list[str], timeout: float) -> Answer:
    import dns.asyncquery
    import dns.exception
    import dns.message
    import dns.rcode
    import dns.rdatatype

    address, port = parse_resolver(resolver)
    found: set[str] = set()
    started = time.perf_counter()
    for rdtype in rdtypes:
        query = dns.message.make_query(name, rdtype)
        try:
            response, _ = await dns.asyncquery.udp_with_fallback(query, address, timeout=timeout, port=port)
        except dns.exception.Timeout:
            return Answer(resolver, frozenset(), "timeout")
        except (OSError, dns.exception.DNSException) as err:
            return Answer(resolver, frozenset(), (str(err) or type(err).__name__)[:200])
        rcode = response.rcode()
        if rcode != dns.rcode.NOERROR:
            return Answer(resolver, frozenset(), dns.rcode.to_text(rcode))
        wanted = dns.rdatatype.from_text(rdtype)
        for rrset in response.answer:
            if rrset.rdtype == wanted:
                found.update(str(item.address) for item in rrset)
    return Answer(resolver, frozenset(found), None, (time.perf_counter() - started) * 1000.0)


def _shown(addresses: frozenset[str] | set[str]) -> str:
    ordered = sorted(addresses)
    more = f" (+{len(ordered) - SHOWN} more)" if len(ordered) > SHOWN else ""
    return ", ".join(ordered[:SHOWN]) + more if ordered else "nothing"


def assess(entry: DnsEntry, answers: list[Answer]) -> list[Finding]:
    """Pure: what the resolvers answered -> net.dns findings (one per resolver that is wrong)."""
    expected = frozenset(str(ipaddress.ip_address(a)) for a in entry.expect)
    findings: list[Finding] = []
    failed = [a for a in answers if a.error is not None]
    for answer in answers:
        subject = f"{entry.name} @ {answer.resolver}"
        if answer.error is not None:
            unreachable = answer.error == "timeout"
            severity = Severity.CRITICAL if not unreachable or len(failed) == len(answers) else Severity.WARNING
            message = (f"resolver {answer.resolver} did not answer for {entry.name}" if unreachable
                       else f"resolver {answer.resolver} answers {answer.error} for {entry.name}")
            findings.append(Finding("net.dns", severity, subject, message,
                                    "Check that the resolver runs and is reachable (port 53 UDP and TCP), and that "
                                    "the zone is loaded there (its log names a zone that failed to load)."))
            continue
        got = frozenset(str(ipaddress.ip_address(a)) for a in answer.addresses)
        if got == expected:
            continue
        missing, extra = expected - got, got - expected
        detail = []
        if missing:
            detail.append(f"missing {_shown(missing)}")
        if extra:
            detail.append(f"unexpected {_shown(extra)}")
        findings.append(Finding(
            "net.dns", Severity.CRITICAL, subject,
            f"{entry.name} resolves to {_shown(got)} at {answer.resolver}, expected {_shown(expected)} "
            f"({'; '.join(detail)})",
            "If a failover or an address change happened, the DNS switch did not reach this resolver: check the "
            "update (RFC 2136 / dynamic DNS client) and the record's TTL; a secondary may lag until its next "
            "zone transfer (compare SOA serials)."))
    return findings


class DnsProbe(Probe):
    def __init__(self, entry: DnsEntry) -> None:
        self.entry = entry
        self.name = f"net.dns.{entry.name}"
        self.interval = entry.interval
        self.timeout = entry.timeout * 2 * 3 + 5

    async def collect_async(self) -> list[Record]:
        kinds = record_types(self.entry.expect)
        answers = await asyncio.gather(*(ask(self.entry.name, r, kinds, self.entry.timeout)
                                         for r in self.entry.resolvers))
        records: list[Record] = []
        for answer in answers:
            labels = {"name": self.entry.name, "resolver": answer.resolver}
            records.append(Sample("net_dns_ok", 0.0 if answer.error else 1.0, labels, ""))
            if answer.rtt_ms is not None:
                records.append(Sample("net_dns_ms", answer.rtt_ms, labels, "ms"))
        records.extend(assess(self.entry, list(answers)))
        return records


def probes(settings: Settings) -> list[Probe]:
    return [DnsProbe(entry) for entry in settings.network.dns]
