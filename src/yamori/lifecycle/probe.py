"""The `lifecycle` probe: the installed distribution's and PostgreSQL majors' end of support."""

from __future__ import annotations

import time
from collections.abc import Callable
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


def postgres_records(settings: LifecycleSettings, today: date) -> list[Record]:
    majors = settings.postgres_versions or installed_postgres_majors(settings.postgres_lib)
    records: list[Record] = []
    for major in majors:
        finding = assess_postgres(major, today, settings.warning_days)
        records.append(finding)
        from .support import postgres_eol

        final = postgres_eol().final.get(major)
        if final is not None:
            records.append(Sample("support_days_left", float((final - today).days),
                                  {"software": f"postgresql {major}"}, unit("support_days_left")))
    return records


class LifecycleProbe(Probe):
    name = "lifecycle"

    def __init__(self, settings: LifecycleSettings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.interval = settings.interval
        self.clock = clock

    def collect(self) -> list[Record]:
        today = datetime.fromtimestamp(self.clock(), UTC).date()
        return [*os_records(self.settings, today), *postgres_records(self.settings, today)]


def probes(settings: Settings) -> list[Probe]:
    section = settings.environment.lifecycle
    return [LifecycleProbe(section)] if section.enabled else []
