"""[[network.dns]] against a real BIND `named` on loopback: expected answers, a changed record (a
failover's DNS switch), NXDOMAIN, a resolver that does not answer; and through `net diagnose`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.pg.pgsupport import TSIG_SECRET, running_named
from tests.support.pgcluster import free_port

from yamori.cli import cli
from yamori.config.network import DnsEntry
from yamori.network.dns import DnsProbe
from yamori.records import Finding, Severity

pytestmark = pytest.mark.skipif(shutil.which("named") is None and not Path("/usr/sbin/named").exists(),
                                reason="BIND named is not installed (scripts/system-deps.sh test installs bind9)")


@pytest.fixture
def named(pg_tmpdir: Path) -> Iterator[int]:
    with running_named(pg_tmpdir) as port:
        yield port


async def findings(entry: DnsEntry) -> list[Finding]:
    return [r for r in await DnsProbe(entry).collect_async() if isinstance(r, Finding)]


def update(port: int, address: str) -> None:
    import dns.query
    import dns.tsigkeyring
    import dns.update

    keyring = dns.tsigkeyring.from_text({"yamori-key": ("hmac-sha256", TSIG_SECRET)})
    change = dns.update.UpdateMessage("example.test", keyring=keyring)
    change.replace("db", 60, "A", address)
    response = dns.query.tcp(change, "127.0.0.1", port=port, timeout=5)
    assert response.rcode() == 0


async def test_expected_changed_missing_and_silent(named: int) -> None:
    resolver = f"127.0.0.1:{named}"
    entry = DnsEntry(name="db.example.test", expect=["192.0.2.1"], resolvers=[resolver])
    assert await findings(entry) == []
    update(named, "192.0.2.2")   # the failover moved the name; this check still expects the old address
    wrong = await findings(entry)
    assert [(f.check, f.severity, f.subject) for f in wrong] == [("net.dns", Severity.CRITICAL,
                                                                  f"db.example.test @ {resolver}")]
    assert "resolves to 192.0.2.2" in wrong[0].message and "expected 192.0.2.1" in wrong[0].message
    assert await findings(DnsEntry(name="db.example.test", expect=["192.0.2.2"], resolvers=[resolver])) == []
    missing = await findings(DnsEntry(name="nope.example.test", expect=["192.0.2.1"], resolvers=[resolver]))
    assert missing[0].severity is Severity.CRITICAL and "NXDOMAIN" in missing[0].message
    silent = f"127.0.0.1:{free_port()}"
    both = await findings(DnsEntry(name="db.example.test", expect=["192.0.2.2"], resolvers=[resolver, silent],
                                   timeout=0.5))
    assert [(f.subject, f.severity) for f in both] == [(f"db.example.test @ {silent}", Severity.WARNING)]


def test_diagnose_reports_dns_findings(named: int, tmp_path: Path) -> None:
    config = tmp_path / "yamori.toml"
    config.write_text(f'[[network.dns]]\nname = "db.example.test"\nexpect = ["198.51.100.7"]\n'
                      f'resolvers = ["127.0.0.1:{named}"]\n')
    result = CliRunner().invoke(cli, ["-c", str(config), "net", "diagnose", "--json"])
    assert result.exit_code == 2, result.output
    data = json.loads(result.output)
    assert data["paths"] == [] and [f["check"] for f in data["findings"]] == ["net.dns"]
