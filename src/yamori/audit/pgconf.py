"""Checks over postgresql.conf (with includes and postgresql.auto.conf)."""

from __future__ import annotations

import ipaddress
import re

from ..postgres.files.conf import ConfError, ConfFile, Setting
from ..postgres.files.hba import HbaRule
from ..records import Finding, Severity
from .context import AuditContext, is_loopback

# Defaults of PostgreSQL 15 for the settings we judge (used when the file does not set them).
DEFAULTS = {"listen_addresses": "localhost", "ssl": "off", "password_encryption": "scram-sha-256",
            "log_connections": "off", "log_line_prefix": "%m [%p] "}
_WILDCARDS = {"*", "0.0.0.0", "::"}
_TRUE = {"on", "true", "yes", "1", "t", "tr", "tru", "y", "ye"}  # unique prefixes count, as in PostgreSQL


def check_pgconf(conf: ConfFile, ctx: AuditContext, hba_rules: list[HbaRule] | None = None) -> list[Finding]:
    findings = [_syntax(e) for e in conf.errors]
    effective = conf.effective()
    findings.extend(listen_addresses(effective.get("listen_addresses"), conf, ctx))
    findings.extend(ssl_off(effective.get("ssl"), conf, hba_rules))
    findings.extend(password_encryption(effective.get("password_encryption")))
    findings.extend(logging(effective, conf))
    findings.extend(duplicates(conf))
    return findings


def ports(conf: ConfFile) -> set[int]:
    value = conf.get("port", "5432") or "5432"
    return {int(value)} if value.isdigit() else {5432}


def _syntax(error: ConfError) -> Finding:
    return Finding("pgconf.syntax", Severity.CRITICAL, f"{error.file}:{error.line}",
                   f"PostgreSQL cannot read this line: {error.message}. The server refuses to start "
                   "(or to reload) with it.",
                   "Correct the line: name = value, strings in single quotes.", error.file, error.line or None)


def _at(check: str, severity: Severity, setting: Setting | None, conf: ConfFile, name: str,
        message: str, advice: str) -> Finding:
    file = setting.file if setting else conf.path
    line = setting.line if setting else None
    return Finding(check, severity, f"{file}: {name}", message, advice, file, line)


def _bool(value: str) -> bool:
    return value.strip().lower() in _TRUE


def listen_addresses(setting: Setting | None, conf: ConfFile, ctx: AuditContext) -> list[Finding]:
    value = setting.value if setting else DEFAULTS["listen_addresses"]
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not set(parts) & _WILDCARDS:
        return _undeclared_listen(parts, setting, conf, ctx)
    return [_at("pgconf.listen_addresses", Severity.WARNING, setting, conf, "listen_addresses",
                f"listen_addresses = '{value}' makes PostgreSQL listen on every interface, including "
                "ones added later (a new public address, a VPN): pg_hba.conf and the firewall are "
                "then the only barriers.",
                "List only the addresses clients use, e.g. listen_addresses = 'localhost, 10.0.0.5' "
                "(needs a restart).")]


def _undeclared_listen(parts: list[str], setting: Setting | None, conf: ConfFile,
                       ctx: AuditContext) -> list[Finding]:
    if not ctx.has_networks:
        return []
    stray = []
    for part in parts:
        try:
            net = ipaddress.ip_network(part)
        except ValueError:
            continue    # a host name such as localhost
        if ctx.declared(net) is None:
            stray.append(part)
    if not stray:
        return []
    return [_at("pgconf.listen_addresses", Severity.WARNING, setting, conf, "listen_addresses",
                f"PostgreSQL listens on {', '.join(stray)}, which is in none of your declared networks or "
                "hosts: clients from there were not planned for.",
                "Remove the address from listen_addresses, or declare it in the inventory (needs a restart).")]


def ssl_off(setting: Setting | None, conf: ConfFile, hba_rules: list[HbaRule] | None) -> list[Finding]:
    value = setting.value if setting else DEFAULTS["ssl"]
    if _bool(value) or not hba_rules:
        return []
    remote = [r for r in hba_rules if r.conn_type in ("host", "hostssl") and r.method != "reject"
              and not (r.network is not None and is_loopback(r.network)) and r.address_kind != "samehost"]
    if not remote:
        return []
    first = remote[0]
    return [_at("pgconf.ssl_off", Severity.WARNING, setting, conf, "ssl",
                f"ssl is off while pg_hba.conf accepts network connections (first at {first.location}): "
                "passwords and query results cross the network unencrypted.",
                "Set ssl = on with a certificate (ssl_cert_file, ssl_key_file) and use hostssl rules.")]


def password_encryption(setting: Setting | None) -> list[Finding]:
    if setting is None or setting.value.strip().lower() != "md5":
        return []
    return [Finding("pgconf.password_encryption", Severity.WARNING, f"{setting.file}: password_encryption",
                    "password_encryption = md5 stores new passwords as md5 hashes, which are enough "
                    "to log in if stolen and block moving to scram-sha-256.",
                    "Set password_encryption = 'scram-sha-256', reload, and have users set their "
                    "passwords again.", setting.file, setting.line)]


def logging(effective: dict[str, Setting], conf: ConfFile) -> list[Finding]:
    findings = []
    conn = effective.get("log_connections")
    if not _bool(conn.value if conn else DEFAULTS["log_connections"]):
        findings.append(_at(
            "pgconf.log_connections", Severity.WARNING, conn, conf, "log_connections",
            "log_connections is off: the log does not show who connected from where, so the guard "
            "sees failed logins but not the successful ones around them.",
            "Set log_connections = on (reload is enough)."))
    prefix = effective.get("log_line_prefix")
    value = prefix.value if prefix else DEFAULTS["log_line_prefix"]
    has_time = re.search(r"%[tmn]", value) is not None
    has_pid = re.search(r"%[pc]", value) is not None
    if not (has_time and has_pid):
        findings.append(_at(
            "pgconf.log_line_prefix", Severity.WARNING, prefix, conf, "log_line_prefix",
            f"log_line_prefix = '{value}' lacks {'a time stamp' if not has_time else 'the process id'}: "
            "without both, log lines cannot be dated or tied to one connection.",
            "Use e.g. log_line_prefix = '%m [%p] %q%u@%d from %h ' (reload is enough)."))
    return findings


def _shown(name: str, value: str) -> str:
    # Connection strings and commands may carry passwords; findings end up in mail.
    return "(hidden)" if any(w in name for w in ("conninfo", "pass", "secret", "command")) else value


def duplicates(conf: ConfFile) -> list[Finding]:
    findings = []
    for name in dict.fromkeys(s.name for s in conf.settings):
        seen = conf.occurrences(name)
        if len(seen) < 2 or len({s.value for s in seen}) < 2:
            continue
        last = seen[-1]
        where = ", ".join(f"{s.location} = '{_shown(name, s.value)}'" for s in seen)
        findings.append(Finding(
            "pgconf.overridden", Severity.INFO, f"{last.file}: {name}",
            f"{name} is set {len(seen)} times ({where}); the server uses the last one, "
            f"'{_shown(name, last.value)}'. An edit to an earlier line has no effect.",
            "Keep one setting per name (ALTER SYSTEM writes postgresql.auto.conf, which wins).",
            last.file, last.line))
    return findings
