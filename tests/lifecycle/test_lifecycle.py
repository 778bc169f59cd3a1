"""End of support from distro-info-data's CSVs (fixture copies) and the shipped PostgreSQL table."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from yamori.config.environment import LifecycleSettings
from yamori.lifecycle.probe import LifecycleProbe, installed_postgres_majors
from yamori.lifecycle.support import (
    SupportDataError,
    assess_postgres,
    assess_release,
    find_release,
    parse_distro_csv,
    parse_os_release,
    postgres_eol,
)
from yamori.records import Finding, Sample, Severity

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "lifecycle"
DEBIAN_12 = 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\nID=debian\n'
UBUNTU_2204 = ('NAME="Ubuntu"\nVERSION_ID="22.04"\nID=ubuntu\nID_LIKE=debian\nVERSION_CODENAME=jammy\n'
               'UBUNTU_CODENAME=jammy\n')
MINT = 'NAME="Linux Mint"\nID=linuxmint\nID_LIKE="ubuntu debian"\nVERSION_CODENAME=wilma\nUBUNTU_CODENAME=noble\n'
FEDORA = 'NAME="Fedora Linux"\nVERSION_ID=41\nID=fedora\nPRETTY_NAME="Fedora Linux 41 (Server Edition)"\n'


def _releases(distro: str):  # type: ignore[no-untyped-def]
    path = FIXTURES / f"{distro}.csv"
    return parse_distro_csv(path.read_text(), distro, str(path))


@pytest.mark.parametrize(("today", "severity", "words"), [
    (date(2025, 12, 1), None, ""),
    (date(2026, 12, 6), Severity.INFO, "security support ends 2028-06-30 (572 days from now); regular security "
                                       "support ended 2026-07-11, only LTS support is left"),
    (date(2028, 1, 1), Severity.INFO, "ends 2028-06-30 (181 days from now)"),
    (date(2028, 1, 2), Severity.WARNING, "ends 2028-06-30 (180 days from now)"),
    (date(2028, 2, 1), Severity.WARNING, "security support ends 2028-06-30 (150 days from now); regular"),
    (date(2028, 7, 1), Severity.CRITICAL, "free security support ended 2028-06-30 (1 days ago); "
                                          "paid support until 2033-06-30"),
])
def test_debian_12(today: date, severity: Severity | None, words: str) -> None:
    release = find_release(parse_os_release(DEBIAN_12), _releases("debian"))
    assert release is not None and release.series == "bookworm"
    finding = assess_release(release, today, 180)
    if severity is None:
        assert finding is None
        return
    assert finding is not None
    assert (finding.check, finding.severity, finding.subject) == ("lifecycle.os_support", severity,
                                                                  "debian 12 (bookworm)")
    assert words in finding.message


def test_ubuntu_lts_warning_180_days_ahead_then_critical() -> None:
    release = find_release(parse_os_release(UBUNTU_2204), _releases("ubuntu"))
    assert release is not None and release.final == date(2027, 6, 1)
    assert assess_release(release, date(2026, 12, 2), 180) is None          # 181 days ahead
    warning = assess_release(release, date(2026, 12, 3), 180)                # 180 days ahead
    assert warning is not None and warning.severity == Severity.WARNING
    critical = assess_release(release, date(2027, 6, 2), 180)
    assert critical is not None and critical.severity == Severity.CRITICAL


def _probe(tmp_path: Path, os_release: str, today: date, **extra: object) -> list[Finding | Sample]:
    (tmp_path / "os-release").write_text(os_release)
    settings = LifecycleSettings.model_validate({
        "distro_info": str(FIXTURES), "os_release": str(tmp_path / "os-release"), "postgres_lib": str(tmp_path / "pg"),
        **extra})
    moment = datetime(today.year, today.month, today.day, 12, tzinfo=UTC).timestamp()
    return LifecycleProbe(settings, lambda: moment).collect()


def test_derivative_follows_its_ubuntu_base(tmp_path: Path) -> None:
    records = _probe(tmp_path, MINT, date(2029, 3, 1))
    (finding,) = [r for r in records if isinstance(r, Finding)]
    assert finding.subject == "ubuntu 24.04 LTS (noble)" and finding.severity == Severity.WARNING


def test_other_distribution_gets_a_note(tmp_path: Path) -> None:
    (finding,) = _probe(tmp_path, FEDORA, date(2026, 12, 6))
    assert (finding.check, finding.severity) == ("lifecycle.os_unknown", Severity.INFO)  # type: ignore[union-attr]
    assert "Fedora Linux 41 (Server Edition): yamori has end-of-support data only for Debian and Ubuntu" in \
        finding.message  # type: ignore[union-attr]


def test_missing_and_broken_data(tmp_path: Path) -> None:
    (finding,) = _probe(tmp_path, DEBIAN_12, date(2026, 12, 6), distro_info=str(tmp_path / "none"))
    assert "install distro-info-data" in finding.message  # type: ignore[union-attr]
    broken = tmp_path / "data"
    broken.mkdir()
    (broken / "debian.csv").write_text("version,codename,series,created,release,eol\n12,B,bookworm,x,y,soon\n")
    (finding,) = _probe(tmp_path, DEBIAN_12, date(2026, 12, 6), distro_info=str(broken))
    assert finding.message == f"{broken / 'debian.csv'}:2: eol: not a date: 'soon'"  # type: ignore[union-attr]
    with pytest.raises(SupportDataError, match=r"x\.csv:1: header"):
        parse_distro_csv("garbage\n", "debian", "x.csv")


@pytest.mark.parametrize(("major", "today", "severity"), [
    ("13", date(2026, 12, 6), Severity.CRITICAL),
    ("14", date(2026, 12, 6), Severity.CRITICAL),   # final release 2026-11-12
    ("15", date(2026, 12, 6), Severity.INFO),
    ("15", date(2027, 6, 1), Severity.WARNING),
    ("99", date(2026, 12, 6), Severity.INFO),
])
def test_postgres(major: str, today: date, severity: Severity) -> None:
    finding = assess_postgres(major, today, 180)
    assert (finding.check, finding.subject, finding.severity) == ("lifecycle.postgres_support",
                                                                  f"postgresql {major}", severity)


def test_postgres_table_is_dated_and_five_years() -> None:
    table = postgres_eol()
    assert table.as_of >= date(2025, 1, 1)
    assert "postgresql.org/support/versioning" in table.source
    for final in table.final.values():
        assert final.month == 11 or final.year < 2020 or final == date(2024, 11, 21)


def test_installed_majors_from_the_lib_tree(tmp_path: Path) -> None:
    for major in ("15", "13", "9.6"):
        (tmp_path / "pg" / major / "bin").mkdir(parents=True)
        (tmp_path / "pg" / major / "bin" / "postgres").touch()
    (tmp_path / "pg" / "16").mkdir()  # client-only: no server binary
    assert installed_postgres_majors(tmp_path / "pg") == ["9.6", "13", "15"]
    records = _probe(tmp_path, DEBIAN_12, date(2026, 12, 6))
    pg = {r.subject: r.severity for r in records if isinstance(r, Finding) and r.check.endswith("postgres_support")}
    assert pg == {"postgresql 9.6": Severity.CRITICAL, "postgresql 13": Severity.CRITICAL,
                  "postgresql 15": Severity.INFO}
    days = {r.labels["software"]: r.value for r in records if isinstance(r, Sample)}
    assert days["postgresql 15"] == 340 and days["debian 12"] == 572
