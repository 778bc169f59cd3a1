"""pg_hba.conf and postgresql.conf findings, on files written the way operators write them."""

from __future__ import annotations

from pathlib import Path

from yamori.audit.context import AuditContext
from yamori.audit.hba import check_hba
from yamori.audit.pgconf import check_pgconf
from yamori.config.inventory import InventorySettings
from yamori.postgres.files.conf import load_conf
from yamori.postgres.files.hba import load_hba
from yamori.records import Severity

INVENTORY = InventorySettings.model_validate({
    "networks": [{"name": "office", "cidr": "203.0.113.0/28", "role": "admin"},
                 {"name": "app", "cidr": "10.20.0.0/16"}],
    "hosts": [{"name": "db2", "addresses": ["198.51.100.7"]}],
})

HBA = """\
# TYPE  DATABASE  USER      ADDRESS            METHOD
local   all       postgres                     peer
host    all       all       127.0.0.1/32       scram-sha-256
host    app       webapp    10.20.0.0/16       scram-sha-256
host    all       all       192.168.0.0/24     md5
host    all       all       203.0.113.0/28     password
host    all       all       0.0.0.0/0          scram-sha-256
host    all       postgres  ::/0               md5
hostnossl all     all       10.20.1.0/24       trust
host    app       webapp    10.20.5.0/24       scram-sha-256
host    replication repl    198.51.100.7/32    scram-sha-256
host    all       all       10.0.0.0 255.0.0.0 reject
host    all       all       10.20.0.0/16 extra-field
"""


def _findings(tmp_path: Path, text: str = HBA):  # type: ignore[no-untyped-def]
    (tmp_path / "pg_hba.conf").write_text(text)
    return check_hba(load_hba(tmp_path / "pg_hba.conf"), AuditContext.from_inventory(INVENTORY))


def _by_check(findings) -> dict[str, list[int]]:  # type: ignore[no-untyped-def]
    result: dict[str, list[int]] = {}
    for f in findings:
        result.setdefault(f.check, []).append(f.line)
    return result


def test_stale_network_names_rule_file_and_line(tmp_path: Path) -> None:
    findings = _findings(tmp_path)
    stale = [f for f in findings if f.check == "hba.undeclared_network"]
    assert [(f.line, f.file) for f in stale] == [(5, str(tmp_path / "pg_hba.conf"))]
    assert "192.168.0.0/24" in stale[0].message and "inventory" in stale[0].message
    assert stale[0].subject == f"{tmp_path}/pg_hba.conf:5 host all all 192.168.0.0/24 md5"
    assert "delete line 5" in stale[0].advice
    # Declared networks, a declared host address, loopback and reject rules are not stale.
    assert all(f.line != n for f in stale for n in (3, 4, 10, 11, 12))


def test_each_listed_problem_is_found_at_its_line(tmp_path: Path) -> None:
    got = _by_check(_findings(tmp_path))
    assert got["hba.password_network"] == [6]
    assert got["hba.trust_network"] == [9]
    assert got["hba.md5"] == [5, 8]
    assert got["hba.open_to_world"] == [7, 8]
    assert got["hba.hostnossl"] == [9]
    assert got["hba.shadowed"] == [9, 10, 12]   # all after "host all all 0.0.0.0/0" on line 7
    assert got["hba.syntax"] == [13]


def test_shadowed_names_the_first_rule_that_covers_it(tmp_path: Path) -> None:
    shadowed = {f.line: f for f in _findings(tmp_path) if f.check == "hba.shadowed"}
    assert "pg_hba.conf:4 (host app webapp 10.20.0.0/16 scram-sha-256)" in shadowed[10].message
    assert "pg_hba.conf:7 " in shadowed[12].message


def test_severities(tmp_path: Path) -> None:
    findings = {(f.check, f.line): f.severity for f in _findings(tmp_path)}
    assert findings[("hba.trust_network", 9)] is Severity.CRITICAL
    assert findings[("hba.open_to_world", 8)] is Severity.CRITICAL
    assert findings[("hba.syntax", 13)] is Severity.CRITICAL
    assert findings[("hba.undeclared_network", 5)] is Severity.WARNING


def test_replication_is_not_shadowed_by_all(tmp_path: Path) -> None:
    text = "host all all 10.0.0.0/8 scram-sha-256\nhost replication repl 10.1.0.0/16 scram-sha-256\n" \
           "host sameuser all 10.0.0.0/8 md5\nhostssl all all 10.2.0.0/16 scram-sha-256\n"
    got = _by_check(_findings(tmp_path, text))
    assert got.get("hba.shadowed") == [3, 4]


def test_no_inventory_means_no_stale_network_guessing(tmp_path: Path) -> None:
    (tmp_path / "pg_hba.conf").write_text(HBA)
    findings = check_hba(load_hba(tmp_path / "pg_hba.conf"), AuditContext())
    assert "hba.undeclared_network" not in {f.check for f in findings}


def test_include_errors_point_at_the_directive(tmp_path: Path) -> None:
    got = _findings(tmp_path, "include missing.conf\nlocal all all peer\n")
    assert [(f.check, f.line) for f in got] == [("hba.syntax", 1)]


def test_pgconf_checks_with_includes_and_auto_conf(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "postgresql.conf").write_text(
        "listen_addresses = '*'\npassword_encryption = scram-sha-256\nlog_line_prefix = '%u@%d '\n"
        "include_dir 'conf.d'\nssl = off\n")
    (tmp_path / "conf.d" / "50-auth.conf").write_text("password_encryption = md5\nport = 5433\n")
    (tmp_path / "postgresql.auto.conf").write_text("log_connections = 'on'\n")
    (tmp_path / "pg_hba.conf").write_text(HBA)
    conf = load_conf(tmp_path / "postgresql.conf")
    rules = load_hba(tmp_path / "pg_hba.conf").rules
    findings = {f.check: f for f in check_pgconf(conf, AuditContext(), rules)}
    assert findings["pgconf.listen_addresses"].line == 1
    assert findings["pgconf.password_encryption"].file == str(tmp_path / "conf.d" / "50-auth.conf")
    assert findings["pgconf.ssl_off"].line == 5 and "pg_hba.conf:4" in findings["pgconf.ssl_off"].message
    assert findings["pgconf.log_line_prefix"].line == 3
    assert "pgconf.log_connections" not in findings          # postgresql.auto.conf turned it on
    overridden = findings["pgconf.overridden"]
    assert "postgresql.conf:2" in overridden.message and "50-auth.conf:1" in overridden.message


def test_listen_addresses_outside_the_inventory(tmp_path: Path) -> None:
    (tmp_path / "postgresql.conf").write_text("listen_addresses = 'localhost, 10.20.0.5, 192.168.0.10'\n")
    ctx = AuditContext.from_inventory(INVENTORY)
    findings = [f for f in check_pgconf(load_conf(tmp_path / "postgresql.conf"), ctx, [])
                if f.check == "pgconf.listen_addresses"]
    assert len(findings) == 1 and "192.168.0.10" in findings[0].message and "10.20.0.5" not in findings[0].message


def test_secrets_never_reach_a_finding(tmp_path: Path) -> None:
    text = 'host all all 192.168.9.0/24 ldap ldapserver=x ldapbasedn="dc=x" ldapbindpasswd="hunter2 x"\n'
    (tmp_path / "postgresql.conf").write_text("primary_conninfo = 'password=hunter2'\n"
                                              "primary_conninfo = 'password=hunter3'\n")
    findings = _findings(tmp_path, text) + check_pgconf(load_conf(tmp_path / "postgresql.conf"), AuditContext(), [])
    assert findings and not any("hunter" in f.subject + f.message + f.advice for f in findings)


def test_pgconf_defaults_and_syntax_errors(tmp_path: Path) -> None:
    (tmp_path / "postgresql.conf").write_text("shared_buffers = 128MB\nwork_mem = '4MB\n")
    findings = {f.check: f for f in check_pgconf(load_conf(tmp_path / "postgresql.conf"), AuditContext(), [])}
    assert findings["pgconf.syntax"].line == 2
    assert "pgconf.listen_addresses" not in findings         # default 'localhost'
    assert "pgconf.ssl_off" not in findings                  # no network rules given
    assert "pgconf.log_connections" in findings              # default off
    assert "pgconf.log_line_prefix" not in findings          # default '%m [%p] '


def test_sample_postgresql_conf_is_all_comments(corpora: Path) -> None:
    conf = load_conf(corpora / "postgresql-conf/postgresql.conf.sample")
    assert conf.settings == [] and conf.errors == []
