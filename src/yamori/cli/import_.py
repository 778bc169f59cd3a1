"""`yamori import munin`: bring years of Munin graphs into yamori's store."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import click

from .context import CliContext, fail, pass_context, print_json

if TYPE_CHECKING:
    from ..munin.importer import Report

T = TypeVar("T")


@click.group("import")
def command() -> None:
    """Import history kept by other monitoring tools."""


@command.command("munin")
@click.option("--datadir", type=click.Path(file_okay=False, path_type=Path), default=Path("/var/lib/munin"),
              show_default=True, help="Munin's dbdir (group directories of host-plugin-field-[dgca].rrd).")
@click.option("--since", default="10y", show_default=True, help="Only history newer than this (a duration ago).")
@click.option("--dry-run", is_flag=True, help="Read every file and say what would be imported; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@pass_context
def munin(ctx: CliContext, datadir: Path, since: str, dry_run: bool, as_json: bool) -> None:
    """Read Munin's RRD files with `rrdtool` and write them into the store's rollup tiers as the
    metrics the Munin plugins give (munin_<plugin>_<field>{host=<munin host>}). Resumable; a
    second run adds nothing twice; imported history is kept whatever the retention.

    Exit code: 0 imported, 1 some files could not be read (listed), 2 usage or config error,
    3 the datadir or rrdtool is missing, or the store cannot be opened."""
    from ..config import ConfigError
    from ..config.types import parse_duration
    from ..munin.importer import run_import
    from ..munin.rrd import RrdError
    from ..store import StoreError, open_store
    from ..store.tiers import TierError, plan_tiers

    try:
        since_at = time.time() - parse_duration(since)
    except ValueError:
        raise click.BadParameter(f"{since!r}: expected a duration such as 10y or 400d", param_hint="--since") from None
    if not datadir.is_dir():
        fail(f"{datadir}: no such directory (Munin's dbdir, usually /var/lib/munin)", 3)
    settings = ctx.settings
    try:
        tiers = plan_tiers(settings.store.retention)
        store = None if dry_run else open_store(settings, config_file=ctx.config_path or "yamori.toml")
    except (TierError, ConfigError) as err:
        fail(str(err), 2)
    except StoreError as err:
        fail(str(err), 3)
    try:
        report = run_import(datadir, store, tiers, Path(settings.agent.state_dir), since_at,
                            progress=None if as_json else _progress)
    except (RrdError, StoreError) as err:
        fail(str(err), 3)
    finally:
        if store is not None:
            store.close()
    if as_json:
        print_json(report.as_json())
    else:
        _print(report)
    raise SystemExit(1 if report.problems else 0)


def _progress(items: Iterator[T], total: int) -> Iterator[T]:
    from rich.console import Console
    from rich.progress import track

    yield from track(items, total=total, description="importing RRD files", console=Console(stderr=True),
                     transient=True)


def _print(report: Report) -> None:
    from datetime import UTC, datetime

    def day(t: float | None) -> str:
        return "-" if t is None else datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d")

    verb = "would import" if report.dry_run else "imported"
    click.echo(f"{report.datadir}: {report.files} RRD files, {report.skipped} already imported")
    for (host, plugin), tally in sorted(report.tallies.items()):
        rows = ", ".join(f"{tier} {count}" for tier, count in sorted(tally.rows.items())) or "nothing new"
        span = f"{day(tally.first)} .. {day(tally.last)}"
        click.echo(f"  {host} {plugin}: {tally.files} files, {verb} {rows} rows ({span})")
    for problem in report.problems:
        click.echo(f"warning: {problem}", err=True)
