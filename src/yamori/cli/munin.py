"""`yamori munin run PLUGIN`: run one Munin plugin the way the agent does and show what was parsed."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .context import CliContext, fail, pass_context, print_json

if TYPE_CHECKING:
    from ..munin.reading import Reading


@click.group("munin")
def command() -> None:
    """Munin plugins run as yamori probes."""


@command.command("run")
@click.argument("plugin")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (plugin, graph, fields).")
@pass_context
def run(ctx: CliContext, plugin: str, as_json: bool) -> None:
    """Run PLUGIN (a path, or a name under [munin] plugin_dir) with its plugin-conf.d settings:
    `config`, then fetch. Counters (DERIVE/COUNTER/ABSOLUTE) need two reads for a rate, so
    their value is the raw number the plugin printed.

    Exit code: 0 parsed cleanly, 1 the plugin printed lines that could not be read or failed
    (each named with its line), 2 no such plugin or a config error, 3 it could not run."""
    from ..munin.plugins import PluginNotFound, find_plugin, plugin_specs
    from ..munin.reading import PluginReader
    from ..munin.runner import RunError

    try:
        spec = find_plugin(ctx.settings, plugin)
    except PluginNotFound as err:
        fail(str(err), 2)
    for problem in plugin_specs(ctx.settings)[1]:
        click.echo(f"warning: {problem}", err=True)
    reader = PluginReader(spec.name, spec.invocation)
    try:
        reading = reader.read()
    except RunError as err:
        fail(str(err), 3)
    if as_json:
        print_json(reading_json(reading))
    else:
        _print(reading)
    raise SystemExit(1 if reading.problems or reading.failures else 0)


def reading_json(reading: Reading) -> dict[str, object]:
    """The contract: {"plugin", "graph": {"title", "vlabel", "category"}, "fields": [...]}.
    Multigraph plugins add "graphs" (the same for every graph) after the first."""
    graphs = reading.graphs
    first = graphs[0] if graphs else None
    data: dict[str, object] = {
        "plugin": reading.plugin,
        "graph": _graph(first),
        "fields": [_field(v) for v in reading.values if first is not None and v.graph == first.name],
    }
    if len(graphs) > 1:
        data["graphs"] = [{"name": g.name, "graph": _graph(g),
                           "fields": [_field(v) for v in reading.values if v.graph == g.name]} for g in graphs]
    if reading.problems or reading.failures:
        data["problems"] = [f"{p.file} output line {p.line}: {p.message}" for p in reading.problems] + reading.failures
    return data


def _graph(graph: object) -> dict[str, str | None]:
    from ..munin.protocol import Graph

    if not isinstance(graph, Graph):
        return {"title": None, "vlabel": None, "category": None}
    return {"title": graph.title, "vlabel": graph.vlabel, "category": graph.category}


def _field(value: object) -> dict[str, object]:
    from ..munin.reading import FieldValue

    assert isinstance(value, FieldValue)
    shown = value.value if value.type == "GAUGE" else value.raw
    return {"name": value.field, "label": value.label, "type": value.type, "value": shown}


def _print(reading: Reading) -> None:
    from ..munin.reading import metric_name

    for graph in reading.graphs:
        click.echo(f"{graph.name}: {graph.title or '(no title)'} [{graph.category}] {graph.vlabel}")
        for value in (v for v in reading.values if v.graph == graph.name):
            shown = "U" if value.raw is None else f"{value.raw:g}"
            click.echo(f"  {metric_name(value.graph, value.field):<40} {value.type:<8} {shown:>14}  {value.label}")
    for problem in reading.problems:
        click.echo(f"warning: {problem.file} output line {problem.line}: {problem.message}", err=True)
    for failure in reading.failures:
        click.echo(f"warning: {failure}", err=True)
