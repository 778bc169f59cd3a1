"""The `yamori` command. Subcommands live one module each and are imported only when used,
so `yamori --help` stays fast and the agent does not pay for commands it never runs."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

import click

from .. import __version__
from .context import CliContext

# name -> "module:attribute"; a command whose module is absent is simply not offered.
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("yamori.cli.run", "Run the agent: probes, store, alerts and the HTTP listener."),
    "check": ("yamori.cli.check", "Run every probe once and print states (Nagios exit codes)."),
    "raid": ("yamori.cli.raid", "Software RAID (md) arrays: status and guided disk replacement."),
    "query": ("yamori.cli.query", "Print the stored history of a metric."),
    "alerts": ("yamori.cli.alerts", "Show active alerts."),
    "notify": ("yamori.cli.notify", "Notifier commands (send a test message)."),
    "config": ("yamori.cli.config", "Validate the config or print a commented example."),
    "guard": ("yamori.cli.guard", "PostgreSQL access guard: scan logs, watch, bans."),
    "audit": ("yamori.cli.audit", "Audit pg_hba.conf, postgresql.conf, nftables, listeners, keepalived."),
    "pg": ("yamori.cli.pg", "PostgreSQL servers, replication, pgpool-II and backups."),
    "failover": ("yamori.cli.failover", "Guided PostgreSQL failover: plan, then run."),
    "net": ("yamori.cli.net", "The network: paths hop by hop, LAN neighbours, device exposure."),
    "munin": ("yamori.cli.munin", "Munin plugins run as probes: try one with `munin run`."),
    "import": ("yamori.cli.import_", "Import history from other tools (Munin's RRD files)."),
    "remote": ("yamori.cli.remote", "Commands on other hosts through their jump host, target verified."),
    "web": ("yamori.cli.web", "The agent's web pages: `web passwd NAME` prints a login entry."),
    "capacity": ("yamori.cli.capacity", "A room's budgets (power, cooling, rack units, floor load) and what if."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name, (module, _) in COMMANDS.items() if importlib.util.find_spec(module)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None or importlib.util.find_spec(entry[0]) is None:
            return None
        module = importlib.import_module(entry[0])
        command: click.Command = module.command
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "-c", "config_path", metavar="FILE", envvar="YAMORI_CONFIG",
              help="Config file (default: $YAMORI_CONFIG, else ./yamori.toml if present).")
@click.version_option(__version__, prog_name="yamori")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """yamori (家守): watches your servers, database and network, alerts at once when
    something breaks, blocks intruders, audits configuration and walks you through the fix."""
    ctx.obj = CliContext(config_path)


def main() -> None:
    try:
        cli.main(prog_name="yamori")
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        # the reader of our output went away (`yamori guard scan --json | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(141)
