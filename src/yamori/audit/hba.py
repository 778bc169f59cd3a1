"""Checks over a parsed pg_hba.conf: stale networks, weak methods, open rules, dead rules."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ..postgres.files.hba import HbaFile, HbaRule, ParseProblem, Token
from ..records import Finding, Severity
from .context import AuditContext, is_loopback, is_world

Check = Callable[[HbaRule, AuditContext], Iterator[Finding]]


def check_hba(hba: HbaFile, ctx: AuditContext) -> list[Finding]:
    findings = [syntax_finding(e) for e in hba.errors]
    for rule in hba.rules:
        for check in RULE_CHECKS:
            findings.extend(check(rule, ctx))
    findings.extend(shadowed(hba.rules))
    return findings


def _finding(check: str, severity: Severity, rule: HbaRule, message: str, advice: str) -> Finding:
    return Finding(check, severity, f"{rule.location} {rule.text}", message, advice, rule.file, rule.line)


def syntax_finding(error: ParseProblem) -> Finding:
    return Finding(
        "hba.syntax", Severity.CRITICAL, f"{error.file}:{error.line} {error.text}".rstrip(),
        f"PostgreSQL cannot read this line: {error.message}. A reload with this file is refused "
        "(the server keeps its old rules) and a restart fails until it is fixed.",
        "Correct the line (see the pg_hba.conf documentation for the field order), then run "
        "SELECT * FROM pg_hba_file_rules WHERE error IS NOT NULL; and reload.",
        error.file, error.line or None)


def _is_network(rule: HbaRule) -> bool:
    """Does the rule admit anything beyond this machine's loopback?"""
    if rule.conn_type == "local":
        return False
    if rule.network is not None:
        return not is_loopback(rule.network)
    return rule.address_kind != "samehost" and rule.address not in ("localhost",)


def undeclared_network(rule: HbaRule, ctx: AuditContext) -> Iterator[Finding]:
    if rule.network is None or not ctx.has_networks or is_world(rule.network) or rule.method == "reject":
        return
    if ctx.declared(rule.network) is None:
        yield _finding(
            "hba.undeclared_network", Severity.WARNING, rule,
            f"This rule lets {rule.network} connect, but that network is not in your inventory. "
            "A network you no longer have (an old home LAN, a previous provider) may now belong to "
            "someone else, who inherits this access.",
            f"If {rule.network} is still yours, declare it under [[inventory.networks]]; otherwise "
            f"delete line {rule.line} of {rule.file} and reload PostgreSQL.")


def trust_or_password(rule: HbaRule, ctx: AuditContext) -> Iterator[Finding]:
    if not _is_network(rule):
        return
    if rule.method == "trust":
        yield _finding(
            "hba.trust_network", Severity.CRITICAL, rule,
            "Connections from the network are accepted with no password at all (trust): anyone who "
            "can reach the port can log in as any user this rule names, including a superuser.",
            "Use scram-sha-256 (or cert) for network connections; keep trust, if at all, for local sockets.")
    elif rule.method == "password":
        yield _finding(
            "hba.password_network", Severity.WARNING, rule,
            "The password method sends the password in clear text over the network; anyone on "
            "the path can read it unless the connection is encrypted.",
            "Use scram-sha-256, which never sends the password itself.")


def md5_method(rule: HbaRule, ctx: AuditContext) -> Iterator[Finding]:
    if rule.method == "md5" and ctx.scram_available:
        yield _finding(
            "hba.md5", Severity.WARNING, rule,
            "md5 authentication is weaker than scram-sha-256, which this server supports "
            "(PostgreSQL 10 and later): a stolen md5 hash is enough to log in.",
            "Set password_encryption = 'scram-sha-256', have each user set their password again, "
            "then change md5 to scram-sha-256 on this line and reload.")


def open_to_world(rule: HbaRule, ctx: AuditContext) -> Iterator[Finding]:
    wide = rule.address_kind == "all" or (rule.network is not None and is_world(rule.network))
    if not wide or rule.method == "reject" or rule.conn_type == "local":
        return
    names = {t.text for t in rule.users}
    everyone = any(t.is_keyword("all") for t in rule.users)
    supers = sorted(names & ctx.superusers)
    if not everyone and not supers:
        return
    who = "every user" if everyone else "superuser " + ", ".join(supers)
    severity = Severity.WARNING if rule.method == "cert" else Severity.CRITICAL
    yield _finding(
        "hba.open_to_world", severity, rule,
        f"This rule accepts {who} from any address on the internet ({rule.address}). Only the "
        "password (or certificate) stands between a scanner and the database.",
        "Replace the address with the networks that really connect (your application servers, "
        "your admin network) and keep the rest rejected, in pg_hba.conf and in the firewall.")


def hostnossl(rule: HbaRule, ctx: AuditContext) -> Iterator[Finding]:
    if rule.conn_type == "hostnossl" and _is_network(rule) and rule.method != "reject":
        yield _finding(
            "hba.hostnossl", Severity.WARNING, rule,
            "hostnossl accepts only unencrypted connections from the network: passwords and data "
            "cross the wire readable.",
            "Use hostssl (and ssl = on) for non-loopback clients.")


RULE_CHECKS: tuple[Check, ...] = (undeclared_network, trust_or_password, md5_method, open_to_world, hostnossl)


# -- shadowing -------------------------------------------------------------------------------

_TYPE_COVERS = {
    "host": {"host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc"},
    "hostssl": {"hostssl"}, "hostnossl": {"hostnossl"}, "hostgssenc": {"hostgssenc"},
    "hostnogssenc": {"hostnogssenc"}, "local": {"local"},
}


def shadowed(rules: list[HbaRule]) -> Iterator[Finding]:
    """PostgreSQL uses the first rule that matches; a later rule fully covered is dead."""
    spans = [_span(r) for r in rules]
    for index, later in enumerate(rules):
        found = next((j for j in range(index) if _covers(rules[j], later, spans[j], spans[index])), None)
        if found is None:
            continue
        earlier = rules[found]
        yield _finding(
            "hba.shadowed", Severity.WARNING, later,
            f"This rule can never be used: the rule at {earlier.location} ({earlier.text}) comes "
            "first and matches every connection this one would. PostgreSQL stops at the first match.",
            "Delete the dead rule, or move it above the broader one if it was meant to apply.")


Span = tuple[int, int, int] | None   # (IP version, first address, last address) as integers


def _span(rule: HbaRule) -> Span:
    net = rule.network
    return (net.version, int(net.network_address), int(net.broadcast_address)) if net is not None else None


def _covers(first: HbaRule, second: HbaRule, first_span: Span, second_span: Span) -> bool:
    # Cheapest tests first: this runs for every pair of rules.
    return (second.conn_type in _TYPE_COVERS[first.conn_type]
            and _address_covers(first, second, first_span, second_span)
            and _names_cover(first.databases, second.databases, database=True)
            and _names_cover(first.users, second.users, database=False))


def _names_cover(first: tuple[Token, ...], second: tuple[Token, ...], *, database: bool) -> bool:
    if any(t.is_keyword("all") for t in first):
        # "all" does not match replication connections (PostgreSQL docs, pg_hba.conf database field).
        return not (database and any(t.is_keyword("replication") for t in second))
    return all(t in first and not t.is_regex for t in second)


def _address_covers(first: HbaRule, second: HbaRule, first_span: Span, second_span: Span) -> bool:
    if first.conn_type == "local" or first.address_kind == "all":
        return True
    if first_span is not None and second_span is not None:
        return first_span[0] == second_span[0] and first_span[1] <= second_span[1] and second_span[2] <= first_span[2]
    return first.address_kind == second.address_kind and first.address == second.address
