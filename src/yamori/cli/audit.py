"""`yamori audit`: pg_hba.conf, postgresql.conf, nftables, listeners and keepalived against the
inventory. Exit status: 2 if a critical finding is shown, 1 if any other finding is shown, 0 if
none (findings below --min-severity are neither shown nor counted)."""

from __future__ import annotations

import json
import sys

import click

from ..audit.runner import AuditRequest, AuditUsageError, run_audit
from ..audit.sarif import to_sarif
from ..records import Finding, Severity
from .context import CliContext, fail, pass_context, print_json

_COLORS = {Severity.CRITICAL: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}


@click.command("audit")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help='Print {"findings": [...]} as JSON.')
@click.option("--sarif", "as_sarif", is_flag=True, help="Print SARIF 2.1.0 (for code-scanning tools).")
@click.option("--min-severity", type=click.Choice([s.value for s in Severity]), default="warning",
              show_default=True, help="Show and count only findings at or above this severity.")
@click.option("--host", metavar="NAME", help="The [[inventory.hosts]] entry the files belong to "
              "(its addresses identify a keepalived director).")
@click.option("--dsn", metavar="DSN", help="PostgreSQL server to compare with (default: the first "
              "[[postgres.servers]] entry).")
@pass_context
def command(ctx: CliContext, paths: tuple[str, ...], as_json: bool, as_sarif: bool, min_severity: str,
            host: str | None, dsn: str | None) -> None:
    """Audit configuration against the inventory: stale networks, over-broad access, exposed
    services, weak authentication, the keepalived DR pitfall.

    PATHS are pg_hba.conf, postgresql.conf, keepalived.conf or nftables files (or a data
    directory); the kind is recognised from the name or the content. Without PATHS, audit this
    machine: the running PostgreSQL server's files (or /etc/postgresql/*/*), /etc/keepalived,
    the live nftables ruleset and the listening sockets.

    Exit status: 2 = a critical finding, 1 = a warning (or info with --min-severity info), 0 = none.
    """
    if as_json and as_sarif:
        fail("--json and --sarif cannot be combined", 2)
    settings = ctx.settings
    request = AuditRequest.from_settings(settings, paths=list(paths), host=host, dsn=dsn)
    if sys.stderr.isatty() and not (as_json or as_sarif):
        click.echo("auditing " + (", ".join(paths) if paths else "this machine") + " ...", err=True)
    try:
        findings = run_audit(settings, request)
    except AuditUsageError as err:
        fail(str(err), 2)
    threshold = Severity(min_severity)
    shown = [f for f in findings if f.severity.rank >= threshold.rank]
    if as_json:
        print_json({"findings": [f.as_json() for f in shown]})
    elif as_sarif:
        click.echo(json.dumps(to_sarif(shown), ensure_ascii=False, indent=2))
    else:
        _print_text(shown, len(findings) - len(shown), threshold)
    sys.exit(exit_code(shown))


def exit_code(findings: list[Finding]) -> int:
    if any(f.severity is Severity.CRITICAL for f in findings):
        return 2
    return 1 if findings else 0


def _print_text(findings: list[Finding], hidden: int, threshold: Severity) -> None:
    for f in findings:
        where = f"{f.file}:{f.line}" if f.file and f.line else (f.file or "")
        click.echo(click.style(f"{f.severity.value.upper():8}", fg=_COLORS[f.severity], bold=True)
                   + f" {f.check}  {where}")
        click.echo(f"  {f.subject}")
        click.echo(f"  {f.message}")
        if f.advice:
            click.echo(f"  fix: {f.advice}")
        click.echo("")
    counts = {s: sum(1 for f in findings if f.severity is s) for s in Severity}
    summary = ", ".join(f"{n} {s.value}" for s, n in reversed(counts.items()) if n) or "no findings"
    more = f" ({hidden} below {threshold.value} not shown)" if hidden else ""
    click.echo(f"{summary}{more}")
