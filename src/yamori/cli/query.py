"""`yamori query METRIC`: the stored history of a metric, as tables or JSON."""

from __future__ import annotations

import difflib
import re
import time
from datetime import datetime
from typing import TYPE_CHECKING

import click

from .context import CliContext, fail, pass_context, print_json

if TYPE_CHECKING:
    from ..store import Series, Store

_EPOCH = re.compile(r"\d{9,}(\.\d+)?")


def parse_when(text: str, now: float) -> float:
    """'now', a duration ago ('7d', '90m'), an ISO 8601 time or epoch seconds -> epoch seconds."""
    from ..config.types import parse_duration

    text = text.strip()
    if text == "now":
        return now
    if _EPOCH.fullmatch(text):  # a bare number that long is a timestamp, not seconds ago
        return float(text)
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        return _iso(text)
    except ValueError:
        raise click.BadParameter(f"{text!r}: expected now, a duration ago (7d, 2h) or an ISO time") from None


def _iso(text: str) -> float:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment.astimezone().timestamp() if moment.tzinfo is None else moment.timestamp()


def parse_labels(pairs: tuple[str, ...]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"{pair!r}: expected KEY=VALUE", param_hint="--label")
        labels[key] = value
    return labels


@click.command(name="query")
@click.argument("metric")
@click.option("--since", default="7d", show_default=True, help="Start: a duration ago (7d, 2h), an ISO time or now.")
@click.option("--until", default="now", show_default=True, help="End: now, a duration ago or an ISO time.")
@click.option("--step", default=None, help="Seconds per point (1h, 5m); default: picked for about 1500 points.")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="Only series with this label (repeat).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@pass_context
def command(ctx: CliContext, metric: str, since: str, until: str, step: str | None,
            labels: tuple[str, ...], as_json: bool) -> None:
    """Print the stored history of METRIC, one table per series (exit 1: unknown metric or no store)."""
    from ..config import ConfigError
    from ..config.types import parse_duration
    from ..store import StoreError, open_store

    now = time.time()
    start, end = parse_when(since, now), parse_when(until, now)
    try:
        step_seconds = parse_duration(step) if step is not None else None
    except ValueError:
        raise click.BadParameter(f"{step!r}: expected a duration such as 5m or 1h", param_hint="--step") from None
    if step_seconds is not None and step_seconds <= 0:
        raise click.BadParameter("must be more than 0", param_hint="--step")
    wanted = parse_labels(labels)
    try:
        store = open_store(ctx.settings, create=False, config_file=ctx.config_path or "yamori.toml")
    except ConfigError as err:
        fail(str(err), 2)
    except StoreError as err:
        fail(str(err), 1)
    try:
        _check_known(store, metric)
        series = store.query(metric, start, end, step_seconds, wanted)
    except StoreError as err:
        fail(str(err), 1)
    finally:
        store.close()
    if as_json:
        print_json({"metric": metric, "series": [_series_json(s) for s in series]})
    elif not series:
        click.echo(f"no data for {metric} between {_when(start)} and {_when(end)}")
    else:
        _print_tables(series)


def _check_known(store: Store, metric: str) -> None:
    names = sorted({name for name, _, _ in store.metrics()})
    if metric in names:
        return
    store.close()
    if not names:
        fail(f"unknown metric {metric!r}: nothing has been recorded yet", 1)
    similar = difflib.get_close_matches(metric, names, n=5, cutoff=0.5)
    similar += [n for n in names if metric in n and n not in similar][: 5 - len(similar)]
    hint = f"; similar: {', '.join(similar)}" if similar else f"; `yamori query` knows {len(names)} other metrics"
    fail(f"unknown metric {metric!r}{hint}", 1)


def _series_json(series: Series) -> dict[str, object]:
    return {
        "labels": series.labels,
        "unit": series.unit,
        "step": series.step,
        "points": [[p.time, p.avg, p.min, p.max, p.last, p.count] for p in series.points],
    }


def _when(t: float) -> str:
    return datetime.fromtimestamp(t).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _print_tables(all_series: list[Series]) -> None:
    from rich.console import Console
    from rich.table import Table

    from ..config.types import format_duration
    from ..records import series_key

    console = Console()
    zone = datetime.now().astimezone().strftime("%Z")
    for series in all_series:
        step = format_duration(series.step) if series.step else "raw"
        unit = f" ({series.unit})" if series.unit else ""
        click.echo(f"{series_key(series.metric, series.labels)}{unit}, step {step}")
        table = Table()
        table.add_column(f"time ({zone})")
        for name in ("avg", "min", "max"):
            table.add_column(name, justify="right")
        for p in series.points:
            stamp = datetime.fromtimestamp(p.time).strftime("%Y-%m-%d %H:%M:%S")
            table.add_row(stamp, f"{p.avg:.6g}", f"{p.min:.6g}", f"{p.max:.6g}")
        console.print(table)
