"""nftables checks: input policy, services reachable beyond `allowed_from`, stale networks."""

from __future__ import annotations

from dataclasses import dataclass

from ..config.inventory import ServiceEntry
from ..inventory import IPNetwork
from ..records import Finding, Severity
from .context import AuditContext, is_world
from .nft_ruleset import NftChain, NftRule, Ruleset

MAX_JUMPS = 16


@dataclass(frozen=True, slots=True)
class Admission:
    sources: tuple[IPNetwork, ...] | None   # None = any address
    rule: NftRule | None                    # None = the chain's accept policy
    chain: NftChain


def check_ruleset(ruleset: Ruleset, ctx: AuditContext, file: str | None = None) -> list[Finding]:
    findings = input_policy(ruleset, file)
    for service in ctx.services():
        findings.extend(service_exposure(ruleset, service, ctx, file))
    findings.extend(undeclared_networks(ruleset, ctx, file))
    findings.extend(unread_sources(ruleset, file))
    return findings


def unread_sources(ruleset: Ruleset, file: str | None) -> list[Finding]:
    """Source matches the audit could not read: said, not dropped (the rule is then judged as
    if it matched every source, the broadest it can be)."""
    findings = []
    for chain in ruleset.chains.values():
        for rule in chain.rules:
            if rule.unread:
                findings.append(Finding(
                    "nft.unread_source", Severity.WARNING, _subject(ruleset, chain, rule),
                    f"The audit could not read the source match {', '.join(rule.unread)}; it judged the rule "
                    "as if it accepted every source.",
                    "Write the source as an address, a prefix or a range, or check the rule by hand.",
                    file, None))
    return findings


def _subject(ruleset: Ruleset, chain: NftChain, rule: NftRule | None) -> str:
    what = rule.describe if rule else f"policy {chain.policy}"
    return f"{ruleset.source}: {chain.family} {chain.table} {chain.name}: {what}"


def input_policy(ruleset: Ruleset, file: str | None) -> list[Finding]:
    chains = ruleset.input_chains()
    if not chains:
        return [Finding("nft.no_input_filter", Severity.WARNING, f"{ruleset.source}: input",
                        "No nftables chain filters incoming traffic: every service listening on this "
                        "host is reachable from wherever the network lets packets through.",
                        "Add an inet filter table with an input chain, policy drop, that accepts "
                        "loopback, established connections and each declared service from its sources.",
                        file, None)]
    findings = []
    for chain in chains:
        if chain.policy != "accept":
            continue
        if any(r.verdict in ("drop", "reject") for r in chain.rules):
            continue
        findings.append(Finding(
            "nft.input_policy_accept", Severity.WARNING, _subject(ruleset, chain, None),
            f"The input chain {chain.family} {chain.table} {chain.name} accepts by default and drops "
            "nothing: it filters no traffic, so any new service is exposed the moment it starts.",
            "Set the chain's policy to drop and accept only what the inventory declares.", file, None))
    return findings


def admissions(ruleset: Ruleset, proto: str, port: int) -> list[Admission]:
    """Who can open `proto/port`: per input chain, the accepting rules; the narrowest chain wins,
    because a packet must pass every input hook."""
    per_chain = [_walk(ruleset, chain, chain, proto, port, 0) for chain in ruleset.input_chains()]
    if not per_chain:
        return []
    if any(not result for result in per_chain):
        return []
    narrow = [r for r in per_chain if all(a.sources is not None for a in r)]
    return narrow[0] if narrow else per_chain[0]


def _walk(ruleset: Ruleset, base: NftChain, chain: NftChain, proto: str, port: int, depth: int) -> list[Admission]:
    result, closed = _walk_rules(ruleset, base, chain, proto, port, depth)
    if not closed and chain is base and chain.policy != "drop":
        result.append(Admission(None, None, chain))
    return result


def _walk_rules(ruleset: Ruleset, base: NftChain, chain: NftChain, proto: str, port: int,
                depth: int) -> tuple[list[Admission], bool]:
    result: list[Admission] = []
    for rule in chain.rules:
        if not rule.matches(proto, port) or rule.loopback_only or rule.established_only:
            continue
        sources = tuple(rule.sources) if rule.sources is not None else None
        if rule.verdict == "accept":
            result.append(Admission(sources, rule, chain))
        elif rule.verdict in ("drop", "reject") and sources is None:
            return result, True
        elif rule.verdict in ("jump", "goto") and rule.target and depth < MAX_JUMPS:
            target = ruleset.chains.get((chain.family, chain.table, rule.target))
            if target is None:
                continue
            inner, closed = _walk_rules(ruleset, base, target, proto, port, depth + 1)
            result.extend(Admission(a.sources if a.sources is not None else sources, a.rule, a.chain) for a in inner)
            if (closed or rule.verdict == "goto") and sources is None:
                return result, closed
    return result, False


def service_exposure(ruleset: Ruleset, service: ServiceEntry, ctx: AuditContext, file: str | None) -> list[Finding]:
    allowed = ctx.allowed_sources(service)
    if any(is_world(net) for net in allowed):
        return []
    findings = []
    label = f"{service.name} ({service.proto}/{service.port})"
    for adm in admissions(ruleset, service.proto, service.port):
        if adm.sources is None:
            extra = "any address"
        else:
            beyond = [n for n in adm.sources if not any(n.version == a.version and n.subnet_of(a)  # type: ignore[arg-type]
                                                          for a in allowed)]
            if not beyond:
                continue
            extra = ", ".join(map(str, beyond))
        severity = Severity.CRITICAL if adm.sources is None and service.port in ctx.pg_ports else Severity.WARNING
        declared = ", ".join(service.allowed_from) or "nothing beyond loopback"
        subject = f"{_subject(ruleset, adm.chain, adm.rule)} -> {service.proto}/{service.port}"
        findings.append(Finding(
            "nft.service_exposed", severity, subject,
            f"{label} is reachable from {extra} through this firewall, but the inventory allows it from "
            f"{declared}. Every extra source is one more place an attack or a leaked password can come from.",
            f"Narrow the rule to the declared sources, or add the source to allowed_from of {service.name} "
            "if it is really needed.", file, None))
    return findings


def undeclared_networks(ruleset: Ruleset, ctx: AuditContext, file: str | None) -> list[Finding]:
    if not ctx.has_networks:
        return []
    findings = []
    for chain in ruleset.chains.values():
        for rule in chain.rules:
            if rule.verdict not in ("accept", "jump", "goto") or not rule.sources:
                continue
            stale = [n for n in rule.sources if not is_world(n) and ctx.declared(n) is None]
            if not stale:
                continue
            nets = ", ".join(map(str, stale))
            findings.append(Finding(
                "nft.undeclared_network", Severity.WARNING, _subject(ruleset, chain, rule),
                f"This rule lets {nets} in, but that network is not in your inventory. A network you no "
                "longer have may now belong to someone else.",
                "Declare the network under [[inventory.networks]] if it is yours; otherwise remove it "
                "from the rule (or the set it comes from).", file, None))
    return findings
