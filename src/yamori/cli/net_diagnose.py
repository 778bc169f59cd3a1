"""`yamori net diagnose`: probe the declared network paths now and name the segment at fault."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from .context import CliContext, fail, pass_context, print_json

if TYPE_CHECKING:
    from ..config import Settings
    from ..network.paths.model import Round
    from ..network.paths.plan import PathPlan
    from ..network.paths.verdict import Verdict
    from ..records import Finding


@click.command("diagnose")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("--count", type=click.IntRange(1, 200), default=20, show_default=True,
              help="Echo requests per hop and target, spread over a few seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@pass_context
def command(ctx: CliContext, paths: tuple[str, ...], count: int, as_json: bool) -> None:
    """Probe every hop and target of the [[network.paths]] now (all, or the PATHs named) and say
    which segment is at fault: loss, unreachable, divergence (ping works, TCP/HTTP does not),
    latency or NAT session exhaustion.

    Exit code: 0 OK, 1 WARNING, 2 CRITICAL (or a usage/config error), 3 UNKNOWN."""
    import asyncio

    from ..network.paths.plan import PlanError, resolve_all
    from ..records import State, worst_state

    settings = ctx.settings
    try:
        plans = resolve_all(settings.network.paths, settings.inventory, list(paths) or None)
    except PlanError as err:
        fail(str(err))
    with_dns = not paths and bool(settings.network.dns)
    if not plans and not with_dns:
        fail("no [[network.paths]] declared in the configuration", 2)
    status = None
    if not as_json:
        from rich.console import Console

        status = Console(stderr=True).status(f"probing {len(plans)} path(s): {count} echo requests per hop …")
        status.start()
    try:
        results, dns_findings = asyncio.run(_run(plans, settings, count, with_dns))
    finally:
        if status is not None:
            status.stop()
    if as_json:
        from ..network.paths.report import diagnose_json

        print_json(diagnose_json(results, dns_findings))
    else:
        _print(results)
        for finding in dns_findings:
            click.echo(f"{str(finding.severity).upper()} {finding.subject}: {finding.message}")
        if with_dns and not dns_findings:
            click.echo(f"DNS: {len(settings.network.dns)} name(s) resolve as expected at every resolver")
    states = [v.state for _, v in results] + [State.from_severity(f.severity) for f in dns_findings]
    raise SystemExit(int(worst_state(states)))


async def _run(plans: list[PathPlan], settings: Settings, count: int,
               with_dns: bool) -> tuple[list[tuple[Round, Verdict]], list[Finding]]:
    import asyncio

    from ..network.paths.run import check_dns, diagnose

    async def no_dns() -> list[Finding]:
        return []

    results, dns_findings = await asyncio.gather(diagnose(plans, settings, count),
                                                 check_dns(settings) if with_dns else no_dns())
    return results, dns_findings


def _print(results: list[tuple[Round, Verdict]]) -> None:
    from rich.console import Console
    from rich.table import Table

    from ..network.paths.report import target_json

    console = Console()
    for measured, verdict in results:
        table = Table(title=f"path {measured.path}", title_justify="left")
        for column in ("hop / target", "address", "echo loss", "rtt min/avg/max ms", "tcp", "http"):
            table.add_column(column)
        for hop in measured.hops:
            icmp = hop.icmp.as_json()
            rtt = icmp["rtt_ms"]
            rtt_text = f"{rtt['min']:.1f}/{rtt['avg']:.1f}/{rtt['max']:.1f}" if isinstance(rtt, dict) else "-"
            services = ", ".join(f"{t.port}: {'ok' if t.ok else t.error} ({t.succeeded}/{t.attempts})" for t in hop.tcp)
            trace = ", ".join(f"{t.port}: {'passes' if t.passes == t.attempts else t.error}" for t in hop.trace)
            table.add_row(_escape(hop.hop.name), hop.hop.address,
                          f"{icmp['loss_percent']}% ({icmp['received']}/{icmp['sent']})", rtt_text,
                          "; ".join(x for x in (services, f"trace {trace}" if trace else "") if x) or "-", "-")
        for target in measured.targets:
            data = target_json(target)
            echo = target.icmp.as_json() if target.icmp else None
            loss = f"{echo['loss_percent']}%" if echo else "-"
            rtt = echo["rtt_ms"] if echo else None
            rtt_text = f"{rtt['min']:.1f}/{rtt['avg']:.1f}/{rtt['max']:.1f}" if isinstance(rtt, dict) else "-"
            connects = target.tcp
            http = "-"
            if target.http is not None:
                http = f"{data['status'] or '-'} {'ok' if target.http.ok else data['error']}"
                if data["tls_days_left"] is not None:
                    http += f", cert {data['tls_days_left']:.0f} d"
            table.add_row(_escape(target.target.url), target.target.host, loss, rtt_text,
                          f"{'ok' if connects.ok else connects.error} ({connects.succeeded}/{connects.attempts})",
                          _escape(http))
        console.print(table)
        colour = {"OK": "green", "WARNING": "yellow", "CRITICAL": "red"}.get(verdict.state.label, "magenta")
        where = f" at {verdict.first_bad_hop}" if verdict.first_bad_hop else ""
        console.print(f"[{colour}]{verdict.state.label}[/]{_escape(where)}: {_escape(verdict.message)}")
        if verdict.advice:
            console.print(f"  {_escape(verdict.advice)}")
        for finding in verdict.findings[1:]:
            console.print(f"  also {finding.severity}: {_escape(finding.subject)}: {_escape(finding.message)}")


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)
