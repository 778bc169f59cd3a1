"""Dependency-aware alerts: when a path probe finds a hop down (`net.unreachable`), the findings of
everything behind that hop — later hops, the path's targets, inventory hosts and PostgreSQL
servers at those addresses — are held back (kept as INFO) so the operator gets one root-cause
alert naming the hop instead of one per thing behind it. Pure apart from its small memory of
which hops are down."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from ..config import Settings
from ..config.network import parse_target
from ..probe import ProbeResult
from ..records import Finding, Severity

ROOT_CHECK = "net.unreachable"
_TOKEN = re.compile(r"[^\w.:\-\[\]/]+")   # keeps URLs and IPv6 addresses whole
_PART = re.compile(r"[^\w.\-]+")             # host:port -> host, port
_DSN_HOST = re.compile(r"(?:^|\s)host\s*=\s*'?([^\s',]+)")


@dataclasses.dataclass(frozen=True, slots=True)
class Behind:
    path: str
    hop: str
    names: frozenset[str]      # host names, addresses, target URLs and hosts behind `hop`
    probes: frozenset[str]     # probe names whose subject is behind `hop` (postgres.<server>)


def build(settings: Settings) -> list[Behind]:
    hosts = settings.inventory.hosts
    by_address: dict[str, set[str]] = {}
    for host in hosts:
        for address in host.addresses:
            by_address.setdefault(address, set()).add(host.name)
    addresses_of = {h.name: set(h.addresses) for h in hosts}
    servers = [(s.name, s.address or _dsn_host(s.dsn)) for s in settings.postgres.servers]
    result: list[Behind] = []
    for entry in settings.network.paths:
        target_names: set[str] = set()
        for url in entry.targets:
            try:
                _, target_host, _ = parse_target(url)
            except ValueError:
                continue
            target_names |= {url, target_host, *by_address.get(target_host, set()),
                             *addresses_of.get(target_host, set())}
        for index, hop in enumerate(entry.hops):
            names = set(target_names)
            for later in entry.hops[index + 1:]:
                names |= {later, *addresses_of.get(later, set())}
            for address in list(names):
                names |= by_address.get(address, set())
            for name in list(names):
                names |= addresses_of.get(name, set())
            probes = {f"postgres.{server}" for server, where in servers if where and where in names}
            result.append(Behind(entry.name, hop, frozenset(names), frozenset(probes)))
    return result


def _dsn_host(dsn: str) -> str | None:
    match = _DSN_HOST.search(dsn)
    return match.group(1) if match else None


def down_hops(findings: Iterable[Finding]) -> set[str]:
    """Hops a path probe found cut: subject 'PATH: BEFORE → HOP'."""
    down = set()
    for finding in findings:
        if finding.check == ROOT_CHECK and finding.severity is not Severity.INFO and "→" in finding.subject:
            down.add(finding.subject.rsplit("→", 1)[1].strip())
    return down


class Dependencies:
    """Remembers which hops the path probes found down and holds back findings behind them.

    A finding about something behind a path's hops that appears before the path probe has had a
    round since is held back until that round says whether a hop in front is down: otherwise the
    server's alert would race the root cause (both probes notice within the same seconds)."""

    def __init__(self, behind: list[Behind]) -> None:
        self.behind = behind
        self.down: dict[str, set[str]] = {}      # path probe name -> hops it found down
        self.path_seen: dict[str, float] = {}    # path probe name -> start of its latest round
        self.onset: dict[tuple[str, str, str], float] = {}  # (probe, check, subject) -> first seen

    @classmethod
    def from_settings(cls, settings: Settings) -> Dependencies:
        return cls(build(settings))

    def _covering(self, probe: str, finding: Finding) -> list[Behind]:
        tokens = set(_TOKEN.split(finding.subject)) | set(_PART.split(finding.subject))
        return [e for e in self.behind if probe in e.probes or tokens & e.names]

    def fold(self, result: ProbeResult) -> ProbeResult:
        """Note what a path probe found down; hold back another probe's findings behind a down hop."""
        if any(result.name == f"net.{b.path}" for b in self.behind):
            self.down[result.name] = down_hops(result.findings)
            self.path_seen[result.name] = result.started
            return result
        changed = False
        kept: list[Finding] = []
        present: set[tuple[str, str, str]] = set()
        for finding in result.findings:
            covering = self._covering(result.name, finding) if finding.severity is not Severity.INFO else []
            note = self._hold(result, finding, covering, present) if covering else None
            if note is None:
                kept.append(finding)
                continue
            changed = True
            kept.append(dataclasses.replace(finding, severity=Severity.INFO, message=f"{finding.message} ({note})"))
        for key in [k for k in self.onset if k[0] == result.name and k not in present]:
            del self.onset[key]
        if not changed:
            return result
        from ..probe import state_of

        return dataclasses.replace(result, findings=kept, state=state_of(kept))

    def _hold(self, result: ProbeResult, finding: Finding, covering: list[Behind],
              present: set[tuple[str, str, str]]) -> str | None:
        for entry in covering:
            if entry.hop in self.down.get(f"net.{entry.path}", set()):
                return f"held back: {entry.hop} on path {entry.path} is down, which is alerted once as the root cause"
        key = (result.name, finding.check, finding.subject)
        present.add(key)
        onset = self.onset.setdefault(key, result.started)
        for path in sorted({f"net.{e.path}" for e in covering}):
            if self.path_seen.get(path, float("-inf")) < onset:
                return f"held back until path {path[4:]} has probed the hops in front of it"
        return None
