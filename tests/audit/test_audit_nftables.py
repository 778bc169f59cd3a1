"""nftables audit on real rulesets: loaded by the test in its own network namespace, and a file
loaded by yamori into a throwaway namespace (`unshare -n`)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from support.netns import can_use_netns, netns, ns_run
from yamori.audit.context import AuditContext
from yamori.audit.nft_ruleset import NftError, load_file, read_live
from yamori.audit.nftables import admissions, check_ruleset
from yamori.audit.runner import AuditRequest, run_audit
from yamori.config import Settings
from yamori.records import Severity

pytestmark = pytest.mark.skipif(can_use_netns() is not None, reason=str(can_use_netns()))

RULESET = """\
flush ruleset
table inet filter {
    set admins {
        type ipv4_addr; flags interval
        elements = { 203.0.113.0/28, 198.51.100.0/24 }
    }
    chain input {
        type filter hook input priority 0; policy drop;
        iif "lo" accept
        ct state established,related accept
        ip saddr @admins tcp dport 22 accept
        ip saddr 192.168.0.0/24 tcp dport 5432 accept comment "old home LAN"
        ip saddr 10.20.0.0/16 tcp dport 5432 accept
        tcp dport { 80, 443 } accept
        tcp dport 8000-8100 jump web
    }
    chain web {
        ip saddr 10.0.0.0/8 accept
    }
}
"""

OPEN = """\
flush ruleset
table inet filter {
    chain input {
        type filter hook input priority 0; policy accept;
        iif "lo" accept
    }
}
"""

SETTINGS = Settings.model_validate({"inventory": {
    "networks": [{"name": "office", "cidr": "203.0.113.0/28"}, {"name": "app", "cidr": "10.20.0.0/16"}],
    "services": [{"name": "web", "port": 80, "allowed_from": ["0.0.0.0/0"]},
                 {"name": "ssh", "port": 22, "allowed_from": ["office"]},
                 {"name": "postgresql", "port": 5432, "allowed_from": ["app"]},
                 {"name": "api", "port": 8080, "allowed_from": ["app"]}],
}})


def _ctx() -> AuditContext:
    return AuditContext.from_inventory(SETTINGS.inventory)


def test_live_ruleset_in_a_namespace() -> None:
    with netns("ymr-audit") as ns:
        ns_run(ns, "nft", "-f", "-", input=RULESET)
        ruleset = read_live(ns)
    findings = check_ruleset(ruleset, _ctx())
    exposed = sorted((f.subject.split(": ", 2)[2], f.severity)
                     for f in findings if f.check == "nft.service_exposed")
    assert exposed == [
        ('ip saddr 10.0.0.0/8 accept -> tcp/8080', Severity.WARNING),
        ('ip saddr 192.168.0.0/24 tcp dport 5432 accept comment "old home LAN" -> tcp/5432', Severity.WARNING),
        ('ip saddr @admins tcp dport 22 accept -> tcp/22', Severity.WARNING),
    ]
    stale = sorted(f.subject.split(": ", 2)[2] for f in findings if f.check == "nft.undeclared_network")
    assert stale == ['ip saddr 10.0.0.0/8 accept',
                     'ip saddr 192.168.0.0/24 tcp dport 5432 accept comment "old home LAN"',
                     'ip saddr @admins tcp dport 22 accept']
    assert "nft.input_policy_accept" not in {f.check for f in findings}
    # Who may open 5432: exactly the two rules, no policy fallthrough.
    assert sorted(str(a.sources[0]) for a in admissions(ruleset, "tcp", 5432) if a.sources) == [
        "10.20.0.0/16", "192.168.0.0/24"]
    assert admissions(ruleset, "udp", 123) == []


def test_accept_policy_exposes_everything() -> None:
    with netns("ymr-audit") as ns:
        ns_run(ns, "nft", "-f", "-", input=OPEN)
        ruleset = read_live(ns)
    findings = check_ruleset(ruleset, _ctx())
    checks = {(f.check, f.severity) for f in findings}
    assert ("nft.input_policy_accept", Severity.WARNING) in checks
    pg = [f for f in findings if f.check == "nft.service_exposed" and f.subject.endswith("tcp/5432")]
    assert len(pg) == 1 and pg[0].severity is Severity.CRITICAL and "any address" in pg[0].message


def test_empty_namespace_has_no_input_filter() -> None:
    with netns("ymr-audit") as ns:
        findings = check_ruleset(read_live(ns), _ctx())
    assert "nft.no_input_filter" in {f.check for f in findings}


def test_file_is_loaded_in_a_throwaway_namespace(tmp_path: Path) -> None:
    path = tmp_path / "firewall.nft"
    path.write_text(RULESET)
    before = read_live()
    ruleset = load_file(str(path))
    assert ruleset.source == str(path)
    assert {c.name for c in ruleset.chains.values()} == {"input", "web"}
    assert [c.name for c in read_live().chains.values()] == [c.name for c in before.chains.values()]
    findings = run_audit(SETTINGS, AuditRequest(paths=[str(path)]))
    assert {f.check for f in findings} >= {"nft.service_exposed", "nft.undeclared_network"}
    assert all(f.file == str(path) for f in findings)


def test_broken_file_is_a_finding_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.nft"
    path.write_text("table inet filter {\n  chain input {\n    tcp dport 22 acept\n  }\n}\n")
    with pytest.raises(NftError) as err:
        load_file(str(path))
    assert err.value.line == 3
    findings = run_audit(Settings(), AuditRequest(paths=[str(path)]))
    assert [(f.check, f.line, f.severity) for f in findings] == [("nft.syntax", 3, Severity.CRITICAL)]


def test_discovery_on_a_machine_tree(tmp_path: Path, incidents: Path) -> None:
    """Without paths: /etc/postgresql/*/*/ (hba_file from postgresql.conf), /etc/keepalived, the
    live ruleset (here: a namespace the test loaded) and the listening sockets."""
    main = tmp_path / "etc/postgresql/15/main"
    main.mkdir(parents=True)
    (main / "hba").mkdir()
    (main / "postgresql.conf").write_text(f"hba_file = '{main}/hba/pg_hba.conf'\nlisten_addresses = '*'\n")
    (main / "hba/pg_hba.conf").write_text("host all all 192.168.0.0/24 md5\n")
    (tmp_path / "etc/keepalived").mkdir(parents=True)
    (tmp_path / "etc/keepalived/keepalived.conf").symlink_to(incidents / "keepalived-vrrp-ipvs-dr-same-host.conf")
    with netns("ymr-audit") as ns:
        ns_run(ns, "nft", "-f", "-", input=OPEN)
        findings = run_audit(SETTINGS, AuditRequest(live=True, root=str(tmp_path), netns=ns))
    got = {(f.check, Path(f.file).name if f.file else None) for f in findings}
    assert {("hba.undeclared_network", "pg_hba.conf"), ("pgconf.listen_addresses", "postgresql.conf"),
            ("keepalived.sample_auth_pass", "keepalived.conf"), ("nft.input_policy_accept", None)} <= got
    # Live files: the director's addresses are this machine's, and none is 192.168.0.1/.2.
    assert "keepalived.dr_director_is_real_server" not in {c for c, _ in got}


def test_an_unreadable_source_widens_the_rule_and_is_said() -> None:
    """A saddr element the audit cannot read must not make the rule look narrower: the rule is
    judged as accepting every source, and a finding names what was not read."""
    from yamori.audit.nft_ruleset import ANY, parse_ruleset
    from yamori.audit.nftables import unread_sources

    doc = {"nftables": [
        {"table": {"family": "inet", "name": "f", "handle": 1}},
        {"chain": {"family": "inet", "table": "f", "name": "input", "handle": 1, "type": "filter",
                   "hook": "input", "prio": 0, "policy": "drop"}},
        {"rule": {"family": "inet", "table": "f", "chain": "input", "handle": 4, "expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                       "right": {"set": ["192.0.2.0/24", {"concat": ["198.51.100.1", 5432]}]}}},
            {"accept": None}]}}]}
    ruleset = parse_ruleset(json.dumps(doc), "", "crafted.json")
    [rule] = [r for chain in ruleset.chains.values() for r in chain.rules]
    assert rule.sources is ANY and rule.unread and "concat" in rule.unread[0]
    [finding] = unread_sources(ruleset, "crafted.json")
    assert finding.check == "nft.unread_source" and "concat" in finding.message
