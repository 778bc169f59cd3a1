"""End-of-support dates -> findings. Pure: the caller passes the data and today's date.

Distributions: distro-info-data's CSVs (`/usr/share/distro-info/debian.csv`, `ubuntu.csv`;
columns version, codename, series, created, release, eol, and then eol-lts/eol-elts for Debian,
eol-server/eol-esm for Ubuntu). The free support that counts is Debian's LTS (`eol-lts`) after
the security team's `eol`, and Ubuntu's `eol-server` (else `eol`); Debian ELTS and Ubuntu ESM
are paid or subscription services and are named in the advice only.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

from ..records import Finding, ParseError, ParseProblem, Severity


class SupportDataError(ParseError):
    """A distro-info CSV that cannot be read, located file:line: field."""


@dataclass(frozen=True, slots=True)
class Release:
    distro: str
    version: str
    codename: str
    series: str
    eol: date | None
    eol_extended: date | None  # Debian eol-lts, Ubuntu eol-server
    eol_paid: date | None      # Debian eol-elts, Ubuntu eol-esm

    @property
    def final(self) -> date | None:
        return self.eol_extended or self.eol


def _date(text: str | None, filename: str, line: int, column: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise SupportDataError(ParseProblem(filename, line, f"not a date: {text[:40]!r}", field=column)) from None


def parse_distro_csv(text: str, distro: str, filename: str) -> list[Release]:
    reader = csv.DictReader(io.StringIO(text))
    required = {"version", "codename", "series", "eol"}
    if not reader.fieldnames or not required <= set(reader.fieldnames):
        raise SupportDataError(ParseProblem(filename, 1, f"header must name {', '.join(sorted(required))}"))
    extended, paid = ("eol-lts", "eol-elts") if distro == "debian" else ("eol-server", "eol-esm")
    releases = []
    for number, row in enumerate(reader, start=2):
        releases.append(Release(distro, (row.get("version") or "").strip(), (row.get("codename") or "").strip(),
                                (row.get("series") or "").strip(), _date(row.get("eol"), filename, number, "eol"),
                                _date(row.get(extended), filename, number, extended),
                                _date(row.get(paid), filename, number, paid)))
    return releases


def parse_os_release(text: str) -> dict[str, str]:
    """os-release(5): KEY=value lines, values optionally quoted."""
    result: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key.isidentifier():
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            result[key] = value
    return result


def find_release(os_release: dict[str, str], releases: list[Release]) -> Release | None:
    codename = os_release.get("VERSION_CODENAME", "").lower()
    version = os_release.get("VERSION_ID", "")
    for release in releases:
        if codename and release.series == codename:
            return release
    for release in releases:
        if version and release.version.split()[0] == version:
            return release
    return None


def _when(day: date, today: date) -> str:
    days = (day - today).days
    return f"{day.isoformat()} ({days} days from now)" if days >= 0 else f"{day.isoformat()} ({-days} days ago)"


OS_ADVICE = ("Plan the upgrade to the next release (Debian: https://www.debian.org/releases/, "
             "Ubuntu: do-release-upgrade) while the current one still gets security updates.")
OS_ENDED_ADVICE = ("This system no longer gets security updates. Upgrade to a supported release; "
                   "paid extended support (Debian ELTS, Ubuntu Pro ESM) can bridge the time it takes.")


def assess_release(release: Release, today: date, warning_days: int) -> Finding | None:
    subject = f"{release.distro} {release.version} ({release.series})".replace("  ", " ")
    final = release.final
    if final is None:
        return None  # still in development or no date published yet
    if today > final:
        paid = f"; paid support until {release.eol_paid.isoformat()}" if release.eol_paid and \
            release.eol_paid >= today else ""
        return Finding("lifecycle.os_support", Severity.CRITICAL, subject,
                       f"free security support ended {_when(final, today)}{paid}", OS_ENDED_ADVICE)
    if (final - today).days <= warning_days:
        return Finding("lifecycle.os_support", Severity.WARNING, subject,
                       f"security support ends {_when(final, today)}{_lts_note(release, today)}", OS_ADVICE)
    if release.eol_extended and release.eol and today > release.eol:
        # said, but not yet a warning: the warning comes `warning_days` before the free support ends
        return Finding("lifecycle.os_support", Severity.INFO, subject,
                       f"security support ends {_when(final, today)}{_lts_note(release, today)}", OS_ADVICE)
    return None


def _lts_note(release: Release, today: date) -> str:
    if not (release.eol_extended and release.eol and today > release.eol):
        return ""
    kind = "LTS" if release.distro == "debian" else "server"
    return f"; regular security support ended {release.eol.isoformat()}, only {kind} support is left"


# -- PostgreSQL -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PostgresEol:
    source: str
    as_of: date
    final: dict[str, date]


@cache
def postgres_eol() -> PostgresEol:
    text = resources.files(__package__).joinpath("postgres_eol.json").read_text(encoding="utf-8")
    data = json.loads(text)
    return PostgresEol(data["source"], date.fromisoformat(data["as_of"]),
                       {major: date.fromisoformat(v["final"]) for major, v in data["versions"].items()})


PG_ADVICE = ("Upgrade to a supported major (pg_upgrade, or dump and restore) before the final minor release; "
             "after it no security fix or bug fix is published for this major.")


def assess_postgres(major: str, today: date, warning_days: int, table: PostgresEol | None = None) -> Finding:
    """A finding for every checked major: INFO while far from the end, so the date is always visible."""
    table = table or postgres_eol()
    subject = f"postgresql {major}"
    final = table.final.get(major)
    if final is None:
        return Finding("lifecycle.postgres_support", Severity.INFO, subject,
                       f"not in yamori's end-of-life table (dated {table.as_of.isoformat()}); "
                       "see https://www.postgresql.org/support/versioning/")
    if today > final:
        return Finding("lifecycle.postgres_support", Severity.CRITICAL, subject,
                       f"end of life {_when(final, today)}: no more security fixes", PG_ADVICE)
    if (final - today).days <= warning_days:
        return Finding("lifecycle.postgres_support", Severity.WARNING, subject,
                       f"end of life {_when(final, today)}", PG_ADVICE)
    return Finding("lifecycle.postgres_support", Severity.INFO, subject,
                   f"supported until {_when(final, today)}")
