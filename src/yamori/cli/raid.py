"""`yamori raid`: software RAID (md) arrays — status now, guided disk replacement."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from .context import CliContext, fail, pass_context, print_json

if TYPE_CHECKING:
    from ..raid.model import MdStat
    from ..raid.replace import Plan
    from ..records import Finding


@click.group("raid")
def command() -> None:
    """Software RAID (md) arrays: status and guided disk replacement."""


@command.command("status")
@click.option("--mdstat", "mdstat_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Read this file instead of <agent.proc>/mdstat.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@pass_context
def status(ctx: CliContext, mdstat_file: Path | None, as_json: bool) -> None:
    """Show every md array: level, state, members and their flags, health, resync progress.

    Exit code: 0 all arrays healthy, 1 a warning (e.g. a faulty member in a still redundant
    array), 2 an array is degraded or inactive, or the file is malformed (the error names the
    file and line), 3 the file cannot be read."""
    from ..probe import state_of
    from ..raid.report import array_findings, mdstat_json

    mdstat = _load(ctx, mdstat_file)
    findings = [f for a in mdstat.arrays for f in array_findings(a)]
    smart = _member_smart(ctx, [m.device for a in mdstat.arrays for m in a.members])
    if as_json:
        data = mdstat_json(mdstat)
        data["findings"] = [f.as_json() for f in findings]
        data["smart"] = smart
        print_json(data)
    else:
        _print_table(mdstat, findings)
        _print_smart(smart)
    raise SystemExit(int(state_of(findings)))


def _member_smart(ctx: CliContext, members: list[str]) -> dict[str, Any] | None:
    """SMART state of each member's disk (None when smartctl is absent or SMART is switched off)."""
    from ..disks.members import smart_of_disks
    from ..raid.report import parent_disk

    settings = ctx.settings
    return smart_of_disks([parent_disk(m) for m in members], settings.environment.smart, Path(settings.agent.dev))


def _print_smart(smart: dict[str, Any] | None, title: str = "SMART") -> None:
    if not smart:
        return
    for disk, entry in smart.items():
        colour = "bold red" if entry.get("passed") is False else "yellow" if entry["findings"] else ""
        line = f"{title} /dev/{disk}: {entry['summary']}"
        click.echo(click.style(line, fg="red" if colour == "bold red" else "yellow" if colour else None,
                               bold=colour == "bold red"))
        for finding in entry["findings"]:
            click.echo(f"    {finding['severity'].upper()} {finding['message']}")


def _load(ctx: CliContext, mdstat_file: Path | None) -> MdStat:
    from ..raid.mdstat import parse_mdstat
    from ..raid.model import MdstatError

    path = mdstat_file if mdstat_file is not None else Path(ctx.settings.agent.proc) / "mdstat"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        fail(f"{path}: no such file (is the md driver loaded? `modprobe md_mod`)", 3)
    except OSError as err:
        fail(f"{path}: cannot read: {err.strerror}", 3)
    try:
        return parse_mdstat(text)
    except MdstatError as err:
        return fail(str(err.with_file(str(path))), 2)  # type: ignore[no-any-return]


def _print_table(mdstat: MdStat, findings: list[Finding]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from ..raid.report import describe_sync

    console = Console()
    if not mdstat.arrays:
        console.print("no md arrays")
        return
    table = Table(title="md arrays")
    for column in ("array", "level", "state", "disks", "health", "members", "sync"):
        table.add_column(column)
    for array in mdstat.arrays:
        disks = f"[{array.raid_disks}/{array.working_disks}] [{array.slots}]" if array.slots else str(array.total_disks)
        health = f"{array.health_percent:g}%"
        style = "bold red" if array.degraded or (not array.active and not array.container) else "green"
        members = " ".join(m.device + "".join(f"({f})" for f in m.flags) for m in array.members)
        sync = describe_sync(array.activity) if array.activity else ""
        state = array.state + (" (container)" if array.container else "")
        table.add_row(*(escape(v) for v in (array.name, array.level or "-", state, disks)),
                      f"[{style}]{escape(health)}[/]", escape(members), escape(sync))
    console.print(table)
    for finding in findings:
        if finding.severity == "info":
            continue
        colour = "bold red" if finding.severity == "critical" else "yellow"
        console.print(f"[{colour}]{finding.severity.upper()}[/] {escape(finding.message)}", highlight=False)
        if finding.advice:
            console.print(f"    → {escape(finding.advice)}", highlight=False)


@command.command("replace")
@click.argument("array")
@click.option("--failed", "failed", required=True, metavar="DISK",
              help="The failed disk (sdf) or one of its partitions.")
@click.option("--new", "new", metavar="DISK", help="The new, empty disk (sdg); without it only the removal is planned.")
@click.option("--wipe", "wipe", metavar="SERIAL",
              help="The new disk is not blank (partitions or signatures): erase it; SERIAL must be its serial.")
@click.option("--yes", "yes", is_flag=True, help="Carry out the plan (default: print it only, a dry-run).")
@click.option("--mdstat", "mdstat_file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Plan from this file instead of <agent.proc>/mdstat (dry-run only).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option("--host", "host", metavar="HOST",
              help="Run the whole runbook on this [[inventory.hosts]] host (through its jump host, identity "
                   "verified first, like `yamori remote run`); its yamori reads its own disks.")
@click.option("--remote-yamori", "remote_yamori", default="yamori", show_default=True, metavar="COMMAND",
              help="With --host: how yamori is started there.")
@click.option("--remote-config", "remote_config", metavar="FILE", help="With --host: its config file there.")
@pass_context
def replace(ctx: CliContext, array: str, failed: str, new: str | None, wipe: str | None, yes: bool,
            mdstat_file: Path | None, as_json: bool, host: str | None, remote_yamori: str,
            remote_config: str | None) -> None:
    """Replace the failed disk of ARRAY: identify it by serial, remove its partitions, copy the
    survivor's partition table to the new disk, add each partition to its array, install the
    bootloader on every member disk and follow the rebuild.

    Dry-run by default: prints the plan. With --yes, every drive's serial is verified again and
    the steps run. Exit code: 0 planned/done, 2 cannot plan or a step failed."""
    from ..raid.replace import ReplaceError, plan_from_roots

    settings = ctx.settings
    if host is not None:
        if mdstat_file is not None:
            fail("--mdstat is a local file; with --host the plan is made from the host's own mdstat", 2)
        argv = [*remote_yamori.split(), *(["--config", remote_config] if remote_config else []), "raid", "replace",
                array, "--failed", failed, *(["--new", new] if new else []), *(["--wipe", wipe] if wipe else []),
                *(["--yes"] if yes else []),
                *(["--json"] if as_json else [])]
        _on_host(ctx, host, argv)
    if yes and mdstat_file is not None:
        fail("--mdstat plans from a copy; apply (--yes) only from the live <agent.proc>/mdstat", 2)
    mdstat = _load(ctx, mdstat_file)
    try:
        plan = plan_from_roots(mdstat, array, failed, new, Path(settings.agent.sys), Path(settings.agent.dev),
                               wipe_serial=wipe)
    except ReplaceError as err:
        fail(str(err), 2)
    smart = _member_smart(ctx, [d.name for d in (plan.failed, plan.survivor, plan.new) if d is not None])
    if as_json:
        print_json({**plan.as_json(), "smart": smart})
    else:
        _print_plan(plan, dry_run=not yes)
        _print_smart(smart, "SMART of")
        survivor = (smart or {}).get(plan.survivor.name)
        if survivor and survivor["findings"]:
            click.echo(click.style(f"warning: the surviving disk /dev/{plan.survivor.name} has SMART problems "
                                   "itself: make sure the backups are current before the rebuild reads all of it.",
                                   fg="yellow"))
    if yes:
        _apply(ctx, plan)


def _on_host(ctx: CliContext, host: str, argv: list[str]) -> None:
    """Hand the runbook to yamori on `host` through the verified remote runner; exits with its code."""
    import asyncio
    import sys

    from ..remote import runner
    from ..remote.route import RemoteError, resolve

    try:
        route = resolve(ctx.settings.inventory, host)
    except RemoteError as err:
        fail(str(err), 2)

    def verified(v: runner.Verified) -> None:
        click.echo(f"yamori: target verified: {v.describe()}", err=True)

    try:
        code = asyncio.run(runner.run(route, argv, out=runner.stream_sink(sys.stdout.buffer),
                                      err=runner.stream_sink(sys.stderr.buffer), on_verified=verified))
    except RemoteError as err:
        fail(str(err), 255)
    sys.exit(code)


def _print_plan(plan: Plan, dry_run: bool) -> None:
    from rich.console import Console
    from rich.markup import escape

    console = Console()
    import socket

    where = socket.gethostname()
    console.print(f"[bold]Replacement plan for {escape(plan.array)} on {escape(where)}[/]" +
                  (" (dry-run)" if dry_run else ""))
    for number, step in enumerate(plan.steps, start=1):
        mark = "[bold red]![/]" if step.destructive else ("[cyan]✋[/]" if step.manual else " ")
        console.print(f"{mark} {number:2d}. {escape(step.title)}", highlight=False)
        if step.command:
            console.print(f"       $ {escape(step.command)}", highlight=False)
    for warning in plan.warnings:
        console.print(f"[yellow]warning:[/] {escape(warning)}", highlight=False)
    if dry_run:
        console.print("Nothing was changed. Run again with --yes to carry it out "
                      "(serials are checked again before each step).")


def _mail_whole(ctx: CliContext, plan: Plan, mdstat: MdStat, started: float) -> None:
    """Tell the operator by mail (and webhook) that the arrays are whole again."""
    import asyncio
    import socket

    from ..raid.rebuild_notice import send, whole_again

    note = whole_again(socket.gethostname(), plan, mdstat, started)
    errors = asyncio.run(send(ctx.settings.alerts, note))
    for error in errors:
        click.echo(f"yamori: the 'rebuild finished' message was not sent: {error}", err=True)
    if not errors:
        click.echo("sent: rebuild finished")


def _apply(ctx: CliContext, plan: Plan) -> None:
    from ..raid.probe import read_mdstat
    from ..raid.replace_apply import ApplyError, apply, follow_rebuild, run_subprocess

    settings = ctx.settings
    proc = Path(settings.agent.proc)
    arrays = [p.array for p in plan.pairings]

    def follow() -> None:
        started = time.time()
        try:
            whole = follow_rebuild(lambda: read_mdstat(proc), arrays, click.echo)
        except KeyboardInterrupt:
            click.echo("stopped watching; the kernel continues the rebuild (`yamori raid status`)")
            return
        if whole:
            _mail_whole(ctx, plan, read_mdstat(proc), started)

    try:
        apply(plan, Path(settings.agent.sys), Path(settings.agent.dev), run_subprocess, click.echo, follow)
    except ApplyError as err:
        done = ", ".join(s.command or s.title for s in err.done) or "nothing"
        fail(f"{err} (done before stopping: {done})", 2)
