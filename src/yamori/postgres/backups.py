"""Backup freshness: the newest dump, base backup or archived WAL segment in a directory,
its age against the recovery point objective, and whether it is suspiciously small."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config.postgres import BackupEntry, PostgresSettings
from ..probe import Probe
from ..records import Finding, Record, Sample, Severity
from .restore import RestoreResult, restore_sandboxed, restore_test


@dataclass(frozen=True, slots=True)
class BackupFile:
    path: str
    size: int
    mtime: float


@dataclass(frozen=True, slots=True)
class BackupReport:
    name: str
    dir: str
    newest: BackupFile | None
    previous: BackupFile | None
    error: str | None = None

    def age(self, now: float) -> float | None:
        return None if self.newest is None else max(0.0, now - self.newest.mtime)


def scan_backups(entry: BackupEntry) -> BackupReport:
    """The two newest regular files matching the pattern (a base backup dir counts by its own mtime)."""
    root = Path(entry.dir)
    try:
        files = [BackupFile(str(p), _size(p), p.stat().st_mtime) for p in root.glob(entry.pattern)
                 if p.is_file() or p.is_dir()]
    except OSError as err:
        return BackupReport(entry.name, entry.dir, None, None, err.strerror or str(err))
    if not root.is_dir():
        return BackupReport(entry.name, entry.dir, None, None, "no such directory")
    files.sort(key=lambda f: (f.mtime, f.path), reverse=True)
    return BackupReport(entry.name, entry.dir, files[0] if files else None, files[1] if len(files) > 1 else None)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def backup_findings(report: BackupReport, entry: BackupEntry, now: float) -> list[Finding]:
    subject = f"backup {report.name}"
    if report.error is not None:
        return [Finding("postgres.backup_missing", Severity.CRITICAL, subject,
                        f"cannot read {report.dir}: {report.error}", "check the path and yamori's permissions")]
    if report.newest is None:
        return [Finding("postgres.backup_missing", Severity.CRITICAL, subject,
                        f"no file matching {entry.pattern} in {report.dir}",
                        "is the backup job running (cron/systemd timer)? check its log")]
    found: list[Finding] = []
    age = report.age(now) or 0.0
    if age > entry.rpo:
        found.append(Finding("postgres.backup_stale", Severity.CRITICAL, subject,
                             f"newest backup {Path(report.newest.path).name} is {_hours(age)} old, more than the "
                             f"recovery point objective {_hours(entry.rpo)}",
                             "a disaster now would lose that much; check the backup job"))
    prev = report.previous
    if prev is not None and prev.size > 0 and report.newest.size < prev.size * entry.min_size_ratio:
        found.append(Finding("postgres.backup_small", Severity.WARNING, subject,
                             f"newest backup is {report.newest.size:,} bytes, previous {prev.size:,} "
                             f"(< {entry.min_size_ratio:.0%}): it may be truncated or empty",
                             "look at the backup job's log; try a restore of it (pg_restore --list)"))
    return found


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f}h" if seconds >= 3600 else f"{seconds / 60:.0f}m"


def backup_json(report: BackupReport, now: float) -> dict[str, Any]:
    newest = report.newest
    return {"name": report.name, "dir": report.dir, "error": report.error,
            "newest": newest.path if newest else None, "size": newest.size if newest else None,
            "age_seconds": report.age(now),
            "previous_size": report.previous.size if report.previous else None}


def restore_findings(entry: BackupEntry, result: RestoreResult) -> list[Finding]:
    if result.ok:
        return []
    return [Finding("postgres.restore_failed", Severity.CRITICAL, f"backup {entry.name}",
                    f"restore test of {Path(result.path).name} failed: {result.message}",
                    "the newest backup may be unusable: check the dump job and restore it by hand")]


def run_restore(entry: BackupEntry, path: Path, dsn: str | None = None) -> RestoreResult:
    """The throwaway cluster unless a server is named (--dsn, or restore_dsn without restore_test)."""
    dsn = dsn or (None if entry.restore_test else entry.restore_dsn)
    if dsn:
        return restore_test(path, dsn, timeout=entry.restore_timeout)
    return restore_sandboxed(path, entry.restore_user, entry.restore_timeout, entry.restore_max_bytes)


class BackupsProbe(Probe):
    """`postgres.backups`: age and size of every configured backup; the restore test when due."""

    name = "postgres.backups"

    def __init__(self, settings: PostgresSettings, clock: Callable[[], float] = time.time) -> None:
        self.entries = settings.backups
        self.interval = max(settings.interval, 300.0)
        # A restore test can take as long as the dump is big; the scan alone is quick.
        restoring = [e.restore_timeout + 120 for e in self.entries if e.restore_dsn or e.restore_test]
        self.timeout = max(restoring) if restoring else 30.0
        self.clock = clock
        self._restored: dict[str, float] = {}  # backup name -> when its restore test last ran

    def collect(self) -> Iterable[Record]:
        now = self.clock()
        records: list[Record] = []
        for entry in self.entries:
            report = scan_backups(entry)
            age = report.age(now)
            if age is not None:
                records.append(Sample("postgres.backup.age", age, {"backup": entry.name}, "seconds"))
            records += backup_findings(report, entry, now)
            if self._restore_due(entry, report, now):
                records += self._restore(entry, report, now)
        return records

    def _restore_due(self, entry: BackupEntry, report: BackupReport, now: float) -> bool:
        last = self._restored.get(entry.name)
        wanted = bool((entry.restore_dsn or entry.restore_test) and report.newest)
        return wanted and (last is None or now - last >= entry.restore_interval)

    def _restore(self, entry: BackupEntry, report: BackupReport, now: float) -> list[Record]:
        assert report.newest is not None
        self._restored[entry.name] = now
        result = run_restore(entry, Path(report.newest.path))
        sample = Sample("postgres.backup.restore_ok", 1.0 if result.ok else 0.0, {"backup": entry.name})
        return [sample, *restore_findings(entry, result)]
