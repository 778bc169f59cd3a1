"""`yamori check`: every probe once, Nagios-style exit code (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)."""

from __future__ import annotations

import asyncio
from typing import Any

import click

from ..records import Finding, Severity, State, worst_state
from .context import CliContext, pass_context, print_json


@click.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option("--only", multiple=True, metavar="NAME", help="Run only this probe (repeatable).")
@pass_context
def command(ctx: CliContext, as_json: bool, only: tuple[str, ...]) -> None:
    """Run every probe once and print their states and findings.

    Exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN — usable from cron or as a
    Nagios/Icinga plugin."""
    from ..catalog import build_probes
    from ..check import run_check

    if only:
        names = {p.name for p in build_probes(ctx.settings)}
        unknown = [n for n in only if n not in names and not any(x.split(".")[0] == n for x in names)]
        if unknown:
            click.echo(f"yamori check: no probe named {', '.join(unknown)} on this host "
                       f"(probes here: {', '.join(sorted(names)) or 'none'})", err=True)
            raise SystemExit(int(State.UNKNOWN))
    report = asyncio.run(run_check(ctx.settings, list(only)))
    if as_json:
        print_json(report.as_json())
    else:
        _print_table(report.as_json())
    raise SystemExit(int(report.state))


def _print_table(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    table = Table(title=f"yamori check: {data['state']}")
    for column in ("probe", "state", "reason"):
        table.add_column(column)
    for probe in data["probes"]:
        table.add_row(escape(probe["name"]), _styled(probe["state"]), escape(probe["reason"]))
    console.print(table)
    rank = {"critical": 0, "warning": 1, "info": 2}
    # an alert nobody receives is the incident itself: say it first
    ordered = sorted(data["findings"], key=lambda f: (f["check"] != "notify.unconfigured", rank[f["severity"]]))
    for finding in ordered:
        style = {"critical": "bold red", "warning": "yellow"}.get(finding["severity"], "dim")
        # finding text may come from logs or config files: never let it be read as markup
        console.print(f"[{style}]{finding['severity'].upper()}[/] ", end="")
        console.print(f"{finding['probe']} {finding['subject']}: {finding['message']}", markup=False,
                      highlight=False)
        if finding["advice"]:
            console.print(f"    → {finding['advice']}", markup=False, highlight=False)


def _styled(state: str) -> str:
    style = {"OK": "green", "WARNING": "yellow", "CRITICAL": "bold red", "UNKNOWN": "dim"}[state]
    return f"[{style}]{state}[/]"


__all__ = ["Finding", "Severity", "State", "command", "worst_state"]
