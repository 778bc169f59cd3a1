"""`yamori capacity`: a room's or rack's budgets, which runs out first, and what if."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .context import CliContext, fail, pass_context, print_json

if TYPE_CHECKING:
    from ..capacity.memory import DatabaseMemory
    from ..config.capacity import CapacitySettings


@click.command("capacity")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--room", "room_name", metavar="NAME", help="Only this room (needed with --add when there are several).")
@click.option("--add", "additions", multiple=True, metavar="MODEL:N",
              help="What if N more of MODEL were installed (repeatable); MODEL from the room's equipment, "
                   "another room or [[capacity.models]].")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@pass_context
def command(ctx: CliContext, file: Path | None, room_name: str | None, additions: tuple[str, ...],
            as_json: bool) -> None:
    """Per budget of each [[capacity.rooms]] (power, cooling, rack units, floor load): used, left,
    percent, which runs out first, and how many more of each model fit. FILE is a TOML file with a
    [capacity] table (default: the config file).

    Exit code: 0 every budget under 80 %, 1 one at 80 % or more, 2 one over 100 % (or a usage or
    config error)."""
    from ..capacity.budget import CapacityError, report, resolve_additions
    from ..records import worst_state

    capacity = _load(ctx, file)
    rooms = [r for r in capacity.rooms if room_name is None or r.name == room_name]
    if room_name is not None and not rooms:
        fail(f"no room named {room_name!r}", 2)
    if additions and len(rooms) > 1:
        fail("--add needs --room NAME when there are several rooms", 2)
    try:
        reports = [report(room, resolve_additions(list(additions), room, capacity.rooms, capacity.models),
                          capacity.models) for room in rooms]
    except CapacityError as err:
        fail(str(err), 2)
    memory = _database_memory(ctx) if file is None else None
    states = [r.state for r in reports] + [m.state for m in memory or []]
    state = worst_state(states)
    data: dict[str, Any] = {"state": state.label, "rooms": [r.as_json() for r in reports],
                            "database_memory": None if memory is None else [m.as_json() for m in memory]}
    if as_json:
        print_json(data)
    else:
        _print(data)
    raise SystemExit(int(state))


def _database_memory(ctx: CliContext) -> list[DatabaseMemory] | None:
    """From the store the agent writes (None when there is none yet)."""
    from ..capacity.memory import database_memory
    from ..config import ConfigError
    from ..store import StoreError, open_store

    try:
        store = open_store(ctx.settings, create=False, config_file=ctx.config_path or "yamori.toml")
    except (ConfigError, StoreError):
        return None
    try:
        return database_memory(store.latest(), ctx.settings.postgres.thresholds.cache_hit_warning)
    except StoreError:
        return None
    finally:
        store.close()


def _load(ctx: CliContext, file: Path | None) -> CapacitySettings:
    if file is None:
        return ctx.settings.capacity
    from ..config import ConfigError, load_config

    try:
        return load_config(file).capacity
    except ConfigError as err:
        fail(str(err), 2)


def _print_memory(entries: list[dict[str, Any]] | None) -> None:
    for entry in entries or []:
        mark = "WARNING " if entry["state"] != "OK" else ""
        click.echo(f"{mark}database memory {entry['server']}: {entry['verdict']}")


def _print(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    for room in data["rooms"]:
        added = ", ".join(f"+{a['count']} {a['model']}" for a in room["added"])
        title = f"{room['room']}: {room['state']}" + (f" (with {added})" if added else "")
        table = Table(title=escape(title))
        for column in ("budget", "capacity", "used", "left", "percent"):
            table.add_column(column, justify="left" if column == "budget" else "right")
        for b in room["budgets"]:
            style = "bold red" if b["percent"] > 100 else "yellow" if b["percent"] >= 80 else ""
            mark = " ← first to run out" if b["budget"] == room["runs_out_first"] else ""
            table.add_row(b["budget"].replace("_", " ") + mark, f"{b['capacity']:g} {b['unit']}",
                          f"{b['used']:g} {b['unit']}", f"{b['left']:g} {b['unit']}",
                          f"[{style}]{b['percent']:.0f}%[/]" if style else f"{b['percent']:.0f}%")
        console.print(table)
        for fit in room["fits"]:
            if fit["more"] is not None:
                console.print(f"  {fit['more']} more {escape(fit['model'])} fit "
                              f"({fit['limited_by'].replace('_', ' ')} runs out first)", highlight=False)
    if not data["rooms"]:
        console.print("no [[capacity.rooms]] configured")
    _print_memory(data["database_memory"])
