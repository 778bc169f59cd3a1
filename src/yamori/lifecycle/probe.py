"""The `lifecycle` probe: the installed distribution's and PostgreSQL majors' end of support."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from ..config import Settings
from ..config.environment import LifecycleSettings
from ..environment.metrics import unit
from ..probe import Probe
from ..records import Finding, Record, Sample, Severity
from .support import (
    SupportDataError,
    assess_postgres,
    assess_release,
    find_release,
    parse_distro_csv,
    parse_os_release,
    postgres_eol,
)

CSV_FOR = {"debian": "debian.csv", "ubuntu": "ubuntu.csv"}


def installed_postgres_majors(lib: Path) -> list[str]:
    try:
        found = [entry.name for entry in lib.iterdir() if (entry / "bin" / "postgres").exists()]
    except OSError:
        return []
    return sorted(found, key=lambda v: [int(p) if p.isdigit() else 0 for p in v.split(".")])


def os_records(settings: LifecycleSettings, today: date) -> list[Record]:
    try:
        os_release = parse_os_release(settings.os_release.read_text(encoding="utf-8", errors="replace"))
    except OSError as err:
        return [Finding("lifecycle.os_unknown", Severity.INFO, "os",
                        f"{settings.os_release}: cannot read ({err.strerror}); "
                        "the distribution's support is not checked")]
    distro, series = _family(os_release)
    name = os_release.get("PRETTY_NAME") or os_release.get("NAME") or os_release.get("ID", "unknown")
    if distro is None:
        return [Finding("lifecycle.os_unknown", Severity.INFO, "os",
                        f"{name[:80]}: yamori has end-of-support data only for Debian and Ubuntu "
                        "(distro-info-data); check the vendor's lifecycle page for this system")]
    csv_path = settings.distro_info / CSV_FOR[distro]
    try:
        releases = parse_distro_csv(csv_path.read_text(encoding="utf-8"), distro, str(csv_path))
    except OSError as err:
        return [Finding("lifecycle.os_unknown", Severity.INFO, "os",
                        f"{csv_path}: cannot read ({err.strerror}); install distro-info-data")]
    except SupportDataError as err:
        return [Finding("lifecycle.os_unknown", Severity.WARNING, "os", str(err))]
    release = find_release({**os_release, "VERSION_CODENAME": series}, releases)
    if release is None:
        return [Finding("lifecycle.os_unknown", Severity.INFO, "os",
                        f"{name[:80]}: not listed in {csv_path} (a newer release than the installed "
                        "distro-info-data knows? update it)")]
    records: list[Record] = []
    if release.final is not None:
        records.append(Sample("support_days_left", float((release.final - today).days),
                              {"software": f"{distro} {release.version}"}, unit("support_days_left")))
    finding = assess_release(release, today, settings.warning_days)
    if finding is not None:
        records.append(finding)
    return records


def _family(os_release: dict[str, str]) -> tuple[str | None, str]:
    """('debian' | 'ubuntu' | None, series). Derivatives say which base they follow (UBUNTU_CODENAME)."""
    ident = os_release.get("ID", "").lower()
    codename = os_release.get("VERSION_CODENAME", "").lower()
    if ident == "ubuntu" or os_release.get("UBUNTU_CODENAME"):
        return "ubuntu", os_release.get("UBUNTU_CODENAME", codename).lower()
    if ident == "debian":
        return "debian", codename
    return None, codename


def major_of(version_num: int) -> str:
    """server_version_num -> major: 150004 -> "15", 90624 -> "9.6"."""
    return str(version_num // 10000) if version_num >= 100000 else f"{version_num // 10000}.{version_num // 100 % 100}"


def server_majors(servers: list[tuple[str, str]], timeout: int) -> dict[str, list[str]]:
    """{major: [server names]} of the [postgres] servers that answer; the postgres probe reports
    the ones that do not."""
    from ..postgres.db import Unreachable, connect, rows

    found: dict[str, list[str]] = {}
    for name, dsn in servers:
        try:
            with connect(dsn, timeout=timeout) as conn:
                (row,) = rows(conn, "SELECT current_setting('server_version_num')::int AS num")
        except (Unreachable, OSError, ValueError):
            continue
        except Exception:  # psycopg.Error from the query itself (a pooler that refuses it)
            continue
        found.setdefault(major_of(int(row["num"])), []).append(name)
    return found


def postgres_records(settings: LifecycleSettings, today: date,
                     servers: dict[str, list[str]] | None = None) -> list[Record]:
    """Configured majors, else those the [postgres] servers run plus those installed here."""
    where: dict[str, list[str]] = {major: [] for major in settings.postgres_versions}
    if not settings.postgres_versions:
        for major, names in (servers or {}).items():
            where.setdefault(major, []).extend(names)
        for major in installed_postgres_majors(settings.postgres_lib):
            where.setdefault(major, []).append("installed here")
    records: list[Record] = []
    for major, names in where.items():
        finding = assess_postgres(major, today, settings.warning_days)
        if names:
            finding = replace(finding, message=f"{finding.message} ({', '.join(names)})")
        records.append(finding)
        final = postgres_eol().final.get(major)
        if final is not None:
            records.append(Sample("support_days_left", float((final - today).days),
                                  {"software": f"postgresql {major}"}, unit("support_days_left")))
    return records


class LifecycleProbe(Probe):
    name = "lifecycle"

    def __init__(self, settings: LifecycleSettings, clock: Callable[[], float] = time.time,
                 servers: list[tuple[str, str]] | None = None, connect_timeout: int = 5) -> None:
        self.settings = settings
        self.interval = settings.interval
        self.clock = clock
        self.servers = servers or []
        self.connect_timeout = connect_timeout
        self.timeout = 10.0 + len(self.servers) * (connect_timeout + 1)

    def collect(self) -> list[Record]:
        today = datetime.fromtimestamp(self.clock(), UTC).date()
        servers = server_majors(self.servers, self.connect_timeout) if self.servers and \
            not self.settings.postgres_versions else {}
        return [*os_records(self.settings, today), *postgres_records(self.settings, today, servers)]


def probes(settings: Settings) -> list[Probe]:
    section = settings.environment.lifecycle
    servers = [(s.name, s.dsn) for s in settings.postgres.servers]
    return [LifecycleProbe(section, servers=servers, connect_timeout=settings.postgres.connect_timeout)] \
        if section.enabled else []
