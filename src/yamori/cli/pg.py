"""`yamori pg`: PostgreSQL servers, replication, pgpool-II and backups."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .context import CliContext, pass_context, print_json


@click.group("pg")
def command() -> None:
    """PostgreSQL servers, replication, pgpool-II and backups."""


@command.command("status")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_context
def status(ctx: CliContext, as_json: bool) -> None:
    """Every server with its role and lag, the pgpool view, backup ages and findings.

    Exit code: 0 OK, 1 WARNING, 2 CRITICAL (Nagios style)."""
    from ..postgres.status import gather_status

    settings = ctx.settings.postgres
    if not settings.servers and settings.pgpool is None and not settings.backups:
        click.echo("yamori: no [[postgres.servers]], [postgres.pgpool] or [[postgres.backups]] configured",
                   err=True)
    result = gather_status(settings, proc=Path(ctx.settings.agent.proc))
    if as_json:
        print_json(result.as_json())
    else:
        _print_text(result.as_json())
    sys.exit(int(result.state))


def _print_text(data: dict) -> None:  # type: ignore[type-arg]
    for s in data["servers"]:
        if not s["reachable"]:
            click.echo(f"{s['name']:<12} UNREACHABLE  {s['error']}")
            continue
        lag = "" if s["replay_lag_bytes"] is None else f"  replay lag {s['replay_lag_bytes']:,} B"
        click.echo(f"{s['name']:<12} {s['role'] or '?':<11} at {s['position'] or '?'}{lag}")
        for r in s["replication"]:
            click.echo(f"  → {r['application_name']} ({r['client_addr']}) {r['state']}/{r['sync_state']}"
                       f"  replay lag {r['replay_lag_bytes'] or 0:,} B, {r['replay_lag_seconds'] or 0:.1f}s")
        for slot in s["slots"]:
            state = "active" if slot["active"] else "INACTIVE"
            click.echo(f"  slot {slot['name']} {state}, retains {slot['retained_bytes'] or 0:,} B")
    if data["pgpool_error"]:
        click.echo(f"pgpool       UNREACHABLE  {data['pgpool_error']}")
    for n in data["pgpool"]:
        click.echo(f"pgpool node {n['node_id']} {n['hostname']}:{n['port']} {n['status']} "
                   f"(server {n['pg_status']}, {n['role']}, delay {n['replication_delay']})")
    for b in data["backups"]:
        age = "none" if b["age_seconds"] is None else f"{b['age_seconds'] / 3600:.1f}h old"
        click.echo(f"backup {b['name']}: {age}  {b['newest'] or b['error'] or ''}")
    for f in data["findings"]:
        click.echo(f"{f['severity'].upper():<8} {f['subject']}: {f['message']}")
        if f["advice"]:
            click.echo(f"         → {f['advice']}")
    click.echo(f"state: {data['state']}")


@command.command("restore-test")
@click.argument("name")
@click.option("--dsn", help="Server for a scratch database instead of a throwaway cluster "
                            "(default: the backup's restore_dsn unless restore_test is set).")
@pass_context
def restore_test(ctx: CliContext, name: str, dsn: str | None) -> None:
    """Restore the newest dump of backup NAME into a throwaway cluster (or a scratch database
    on --dsn / restore_dsn), count its tables, throw it away. Plain dumps with psql
    meta-commands are refused.

    Exit code: 0 restored, 2 failed or refused."""
    from pathlib import Path

    from ..postgres.backups import run_restore, scan_backups
    from .context import fail

    entry = next((b for b in ctx.settings.postgres.backups if b.name == name), None)
    if entry is None:
        known = ", ".join(b.name for b in ctx.settings.postgres.backups) or "none configured"
        fail(f"no [[postgres.backups]] named {name!r} (configured: {known})")
    newest = scan_backups(entry).newest
    if newest is None:
        fail(f"backup {name}: no file matching {entry.pattern} in {entry.dir}")
    where = "a scratch database" if dsn or (entry.restore_dsn and not entry.restore_test) else "a throwaway cluster"
    click.echo(f"restoring {newest.path} into {where}…", err=True)
    result = run_restore(entry, Path(newest.path), dsn)
    click.echo(("ok: " if result.ok else "FAILED: ") + result.message)
    sys.exit(0 if result.ok else 2)
