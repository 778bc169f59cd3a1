"""`yamori net`: the network around this host. Each subcommand lives in its own module
(cli/net_<name>.py, attribute `command`) and is offered only when that module exists."""

from __future__ import annotations

import importlib
import importlib.util

import click

SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "diagnose": ("yamori.cli.net_diagnose", "Probe the declared network paths now and name the segment at fault."),
    "neighbours": ("yamori.cli.net_neighbours", "Probe the declared addresses on this host's links; list the LAN."),
    "exposure": ("yamori.cli.net_exposure", "Probe the operator's own devices for amplification-prone services."),
}


class _NetGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (module, _) in SUBCOMMANDS.items() if importlib.util.find_spec(module)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = SUBCOMMANDS.get(cmd_name)
        if entry is None or importlib.util.find_spec(entry[0]) is None:
            return None
        found: click.Command = importlib.import_module(entry[0]).command
        return found

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, SUBCOMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=_NetGroup)
def command() -> None:
    """The network around this host: paths, LAN neighbours, exposure of devices."""
