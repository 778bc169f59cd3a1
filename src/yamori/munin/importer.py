"""`yamori import munin`: every RRD file of a Munin datadir into the store's rollup tiers.

Resumable: each file done is recorded in <state_dir>/munin-import.json (written by rename),
and the store keeps existing buckets, so a second run adds nothing twice."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..statefiles import write_atomic
from ..store.base import RollupRow, Store
from ..store.tiers import Tier
from .history import Archived, RrdName, parse_datafile_hosts, parse_rrd_name, rollup_rows
from .rrd import RrdError, Rrdtool

STATE_FILE = "munin-import.json"


@dataclass(slots=True)
class Tally:
    files: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    first: float | None = None
    last: float | None = None

    def add(self, rows: dict[str, list[RollupRow]], added: dict[str, int]) -> None:
        self.files += 1
        for name, count in added.items():
            self.rows[name] = self.rows.get(name, 0) + count
        for tier_rows in rows.values():
            if tier_rows:
                first, last = tier_rows[0].bucket_start, tier_rows[-1].bucket_start + tier_rows[-1].span
                self.first = first if self.first is None else min(self.first, first)
                self.last = last if self.last is None else max(self.last, last)


@dataclass(slots=True)
class Report:
    datadir: str
    dry_run: bool
    files: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    tallies: dict[tuple[str, str], Tally] = field(default_factory=dict)

    def as_json(self) -> dict[str, object]:
        return {
            "datadir": self.datadir, "dry_run": self.dry_run, "files": self.files,
            "skipped_already_imported": self.skipped, "problems": self.problems,
            "imported": [{"host": host, "plugin": plugin, "files": t.files, "rows": t.rows,
                          "first": t.first, "last": t.last} for (host, plugin), t in sorted(self.tallies.items())],
        }


def find_files(datadir: Path) -> tuple[list[tuple[Path, RrdName]], list[str]]:
    """Every Munin RRD file under datadir with its series, and the names that are not."""
    hosts: dict[str, set[str]] = {}
    datafile = datadir / "datafile"
    if datafile.is_file():
        hosts = parse_datafile_hosts(datafile.read_text(encoding="utf-8", errors="replace"))
    found: list[tuple[Path, RrdName]] = []
    odd: list[str] = []
    for path in sorted(datadir.rglob("*.rrd")):
        group = path.parent.relative_to(datadir).as_posix()
        if group == "." or any(part.startswith(".") for part in path.relative_to(datadir).parts):
            continue  # munin-update writes every file inside its group's directory
        name = parse_rrd_name(group, path.name, hosts.get(group, ()))
        if name is None:
            odd.append(f"{path}: not a Munin file name (host-plugin-field-[dgca].rrd), skipped")
        else:
            found.append((path, name))
    return found, odd


def read_archives(rrd: Rrdtool, path: Path, since: float) -> list[Archived]:
    """Each resolution's consolidations, fetched exactly (the archive's own span, aligned)."""
    info = rrd.info(path)
    archives = []
    for resolution, cfs in sorted(info.resolutions().items()):
        if "AVERAGE" not in cfs:
            continue
        end = info.last_update // resolution * resolution
        start = max(end - (cfs["AVERAGE"] - 1) * resolution, int(since) // resolution * resolution)
        if start >= end:
            continue
        values: dict[str, dict[int, float]] = {}
        for cf in cfs:
            step, rows = rrd.fetch(path, cf, resolution, start, end)
            if step == resolution:
                values[cf] = {t: v for t, v in rows if start < t <= end}
        if "AVERAGE" in values:
            archives.append(Archived(resolution, info.step, start, values))
    return archives


def run_import(datadir: Path, store: Store | None, tiers: list[Tier], state_dir: Path, since: float,
               progress: Callable[[Iterator[tuple[Path, RrdName]], int], Iterator[tuple[Path, RrdName]]] | None = None,
               ) -> Report:
    """Import (or with store=None, only read: a dry run) every file not imported yet."""
    report = Report(str(datadir), store is None)
    files, odd = find_files(datadir)
    report.problems.extend(odd)
    state_path = state_dir / STATE_FILE
    done = _load_state(state_path)
    todo = [(p, n) for p, n in files if str(p.relative_to(datadir)) not in done]
    report.files, report.skipped = len(files), len(files) - len(todo)
    iterator = progress(iter(todo), len(todo)) if progress else iter(todo)
    with Rrdtool() as rrd:
        try:
            _import_files(rrd, iterator, datadir, store, tiers, since, done, state_path, report)
        finally:
            if store is not None:
                _save_state(state_path, done)
    return report


def _import_files(rrd: Rrdtool, files: Iterator[tuple[Path, RrdName]], datadir: Path, store: Store | None,
                  tiers: list[Tier], since: float, done: dict[str, object], state_path: Path, report: Report) -> None:
    for number, (path, name) in enumerate(files, 1):
        try:
            rows = rollup_rows(tiers, read_archives(rrd, path, since), since)
        except RrdError as err:
            report.problems.append(str(err))
            continue
        added = {k: len(v) for k, v in rows.items()}
        if store is not None:
            added = store.import_rollups(name.metric, name.labels(), "", dict(rows))
            done[str(path.relative_to(datadir))] = {"metric": name.metric, "rows": added, "at": time.time()}
            if number % 50 == 0:  # a crash re-reads at most 50 files, which then add nothing
                _save_state(state_path, done)
        report.tallies.setdefault((name.host, name.service), Tally()).add(rows, added)


def _load_state(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise RrdError(f"{path}: cannot read the import state ({err}); move it away to start over") from err
    files = data.get("files") if isinstance(data, dict) else None
    return dict(files) if isinstance(files, dict) else {}


def _save_state(path: Path, done: dict[str, object]) -> None:
    write_atomic(path, json.dumps({"files": done}, indent=0))  # 0600, fsynced, renamed
