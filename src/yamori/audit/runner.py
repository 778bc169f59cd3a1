"""Run the whole audit: recognise each input, parse it, run its checks, collect Findings.

Unreadable or unparsable input becomes a finding with its location; nothing here raises for
what the files contain.
"""

from __future__ import annotations

import glob
import ipaddress
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

import psutil  # type: ignore[import-untyped]  # no types-psutil in the pinned set

from ..config import Settings
from ..inventory import IPAddress
from ..postgres.files.conf import ConfFile, load_conf
from ..postgres.files.hba import HbaFile, load_hba
from ..records import Finding, Severity
from . import hba as hba_checks
from . import keepalived as ka_checks
from . import listeners as listen_checks
from . import nftables as nft_checks
from . import pgconf as pgconf_checks
from .context import AuditContext
from .keepalived_conf import load_keepalived
from .nft_ruleset import NftError, load_file, parse_ruleset, read_live
from .server import ServerError, ServerView, check_server, read_server

# The usual places on Debian, relative to AuditRequest.root ("/" outside tests).
PG_CONF_GLOB = "etc/postgresql/*/*/postgresql.conf"
KEEPALIVED_CONF = "etc/keepalived/keepalived.conf"
KINDS = ("hba", "pgconf", "keepalived", "nftables")
T = TypeVar("T")


class AuditUsageError(ValueError):
    """A mistake in how the audit was asked for (unknown --host): the CLI shows it."""


@dataclass(slots=True)
class AuditRequest:
    paths: list[str] = field(default_factory=list)
    host: str | None = None
    dsn: str | None = None
    live: bool = False           # audit this machine: live nftables, listeners, own addresses
    netns: str | None = None     # read the live ruleset inside this namespace (tests)
    root: str = "/"              # where discovery looks for etc/postgresql, etc/keepalived
    nftables: bool = True        # with live: audit the live ruleset
    listeners: bool = True       # with live: audit listening sockets

    @classmethod
    def from_settings(cls, settings: Settings, **kw: object) -> AuditRequest:
        if not kw.get("paths"):
            kw["paths"] = list(settings.audit.paths)    # [audit] paths; empty = this machine
        kw.setdefault("live", not kw["paths"])
        if not kw.get("host"):
            kw["host"] = settings.audit.host or None
        return cls(nftables=settings.audit.nftables, listeners=settings.audit.listeners, **kw)  # type: ignore[arg-type]


def detect_kind(path: Path) -> str | None:
    """By name first (pg_hba*, postgresql*.conf, keepalived*, *.nft), then by content."""
    name = path.name.lower()
    for kind, words in (("hba", ("pg_hba",)), ("keepalived", ("keepalived",)), ("nftables", ("nftables", ".nft")),
                        ("pgconf", ("postgresql", ".auto.conf"))):
        if any(w in name for w in words):
            return kind
    try:
        head = path.read_text(encoding="utf-8", errors="replace")[:20000]
    except OSError:
        return None
    return _sniff(head)


def _sniff(text: str) -> str | None:
    if text.lstrip().startswith("{") and '"nftables"' in text:
        return "nftables"
    lines = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
    words = [ln.split()[0] for ln in lines if ln and not ln.startswith("!")]
    if any(w in ("vrrp_instance", "virtual_server", "global_defs", "vrrp_script", "virtual_server_group")
           for w in words):
        return "keepalived"
    if any(w in ("table", "flush") for w in words) and any("chain" in ln for ln in lines):
        return "nftables"
    hba_words = ("local", "host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc", "include", "include_dir")
    if words and sum(w in hba_words for w in words) >= len(words) / 2:
        return "hba"
    if words and all("=" in ln or ln.split()[0] in ("include", "include_dir", "include_if_exists")
                     for ln in lines if ln):
        return "pgconf"
    return None


def own_addresses() -> frozenset[IPAddress]:
    found: set[IPAddress] = set()
    for addrs in psutil.net_if_addrs().values():
        for addr in addrs:
            try:
                found.add(ipaddress.ip_address(addr.address.split("%", 1)[0]))
            except ValueError:
                continue
    return frozenset(found)


def build_context(settings: Settings, request: AuditRequest, server: ServerView | None) -> AuditContext:
    ctx = AuditContext.from_inventory(settings.inventory)
    if request.host:
        host = next((h for h in settings.inventory.hosts if h.name == request.host), None)
        if host is None:
            known = ", ".join(h.name for h in settings.inventory.hosts) or "none declared"
            raise AuditUsageError(f"--host {request.host}: no such host in [[inventory.hosts]] ({known})")
        ctx.director_addresses = frozenset(ipaddress.ip_address(a) for a in host.addresses)
    elif request.live:
        ctx.director_addresses = own_addresses()
    if server is not None:
        ctx.superusers = ctx.superusers | server.superusers
        ctx.scram_available = server.version_num >= 100000
    return ctx


def run_audit(settings: Settings, request: AuditRequest) -> list[Finding]:
    findings: list[Finding] = []
    server = _server(request, settings, findings)
    ctx = build_context(settings, request, server)
    targets = _targets(request, server, findings)
    confs = [_guard(findings, p, partial(load_conf, p)) for k, p in targets if k == "pgconf"]
    confs_ok = [c for c in confs if c is not None]
    for conf in confs_ok:
        ctx.pg_ports |= pgconf_checks.ports(conf)
    hbas = [h for k, p in targets if k == "hba" if (h := _guard(findings, p, partial(load_hba, p))) is not None]
    rules = [r for h in hbas for r in h.rules]
    for h in hbas:
        findings.extend(hba_checks.check_hba(h, ctx))
    for conf in confs_ok:
        findings.extend(pgconf_checks.check_pgconf(conf, ctx, rules if hbas else None))
    for kind, path in targets:
        findings.extend(_other(kind, path, ctx))
    if request.live:
        findings.extend(_live(request, ctx))
    if server is not None:
        local = {(e.file, e.line) for h in hbas for e in h.errors}
        findings.extend(check_server(server, local))
    return _dedupe(findings)


def _server(request: AuditRequest, settings: Settings, findings: list[Finding]) -> ServerView | None:
    dsn = request.dsn or (settings.postgres.servers[0].dsn if settings.postgres.servers else None)
    if not dsn:
        return None
    try:
        return read_server(dsn)
    except ServerError as err:
        findings.append(Finding("audit.server_unreachable", Severity.WARNING, "postgresql server",
                                f"Could not read the running server's view ({err}); the files were audited "
                                "without it, so edits that were not reloaded cannot be detected.",
                                "Check the DSN ([[postgres.servers]] or --dsn) and that the user may "
                                "read pg_hba_file_rules (a superuser or pg_read_all_settings)."))
        return None


def _targets(request: AuditRequest, server: ServerView | None, findings: list[Finding]) -> list[tuple[str, str]]:
    if request.paths:
        return [t for p in request.paths for t in _path_targets(Path(p), findings)]
    targets: list[tuple[str, str]] = []
    if server is not None:
        targets += [("pgconf", server.config_file), ("hba", server.hba_file)]
    else:
        for conf in sorted(glob.glob(str(Path(request.root) / PG_CONF_GLOB))):
            # Debian sets hba_file in postgresql.conf; otherwise it sits beside it.
            hba = _guard(findings, conf, partial(load_conf, conf))
            hba_file = (hba.get("hba_file") if hba else None) or str(Path(conf).with_name("pg_hba.conf"))
            targets += [("pgconf", conf), ("hba", hba_file)]
    keepalived = Path(request.root) / KEEPALIVED_CONF
    if keepalived.is_file():
        targets.append(("keepalived", str(keepalived)))
    return targets


def _path_targets(path: Path, findings: list[Finding]) -> list[tuple[str, str]]:
    if path.is_dir():
        inside = [("pgconf", path / "postgresql.conf"), ("hba", path / "pg_hba.conf"),
                  ("keepalived", path / "keepalived.conf")]
        found = [(k, str(p)) for k, p in inside if p.is_file()]
        if found:
            return found
    kind = detect_kind(path) if path.exists() else None
    if kind is None:
        what = "does not exist" if not path.exists() else "is not a file yamori can audit (recognised: pg_hba.conf, " \
            "postgresql.conf, keepalived.conf, nftables rulesets)"
        findings.append(Finding("audit.unknown_input", Severity.WARNING, str(path), f"{path} {what}.",
                                "Pass a pg_hba.conf, postgresql.conf, keepalived.conf or nft ruleset file.",
                                str(path), None))
        return []
    return [(kind, str(path))]


def _guard(findings: list[Finding], path: str, load: Callable[[], T]) -> T | None:
    try:
        return load()
    except (OSError, UnicodeError, ValueError) as err:
        findings.append(_unreadable(path, err))
        return None


def _unreadable(path: str, err: Exception) -> Finding:
    return Finding("audit.unreadable", Severity.WARNING, path, f"{path} could not be read: {err}",
                   "Run the audit as a user who may read the file, or pass the right path.", path, None)


def _other(kind: str, path: str, ctx: AuditContext) -> list[Finding]:
    if kind == "keepalived":
        return ka_checks.check_keepalived(load_keepalived(path), ctx)
    if kind != "nftables":
        return []
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
        ruleset = parse_ruleset(text, "", path) if text.lstrip().startswith("{") else load_file(path)
    except OSError as err:
        return [_unreadable(path, err)]
    except NftError as err:
        return [Finding("nft.syntax", Severity.CRITICAL, f"{err.file or path}:{err.line or ''}".rstrip(":"),
                        f"nft cannot load this ruleset: {err.reason}. Loading it would fail and leave the "
                        "previous firewall in place.", "Fix the line and check with nft -c -f FILE.",
                        err.file or path, err.line)]
    return nft_checks.check_ruleset(ruleset, ctx, path)


def _live(request: AuditRequest, ctx: AuditContext) -> list[Finding]:
    findings: list[Finding] = []
    if request.nftables:
        try:
            findings.extend(nft_checks.check_ruleset(read_live(request.netns), ctx))
        except NftError as err:
            findings.append(Finding("nft.unreadable", Severity.WARNING, "live ruleset",
                                    f"The live nftables ruleset could not be read: {err}",
                                    "Run the audit as root (nft needs CAP_NET_ADMIN)."))
    if request.listeners:
        findings.extend(listen_checks.check_listeners(listen_checks.read_listeners(), ctx))
    return findings


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: dict[tuple[str, str], Finding] = {}
    for f in findings:
        seen.setdefault((f.check, f.subject), f)
    order = {s: i for i, s in enumerate(Severity)}
    return sorted(seen.values(), key=lambda f: (-order[f.severity], f.file or "", f.line or 0, f.check))


def findings_json(findings: list[Finding]) -> str:
    return json.dumps({"findings": [f.as_json() for f in findings]}, ensure_ascii=False)


__all__ = ["KINDS", "AuditRequest", "AuditUsageError", "ConfFile", "HbaFile", "detect_kind", "run_audit"]
