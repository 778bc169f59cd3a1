"""`yamori net exposure`: the operator's own devices, probed for amplification-prone UDP services.
Exit status like `check`: 2 = a critical finding, 1 = a warning, 0 = none; 2 also for a HOST
that is not declared (nothing is sent then)."""

from __future__ import annotations

import sys

import click

from .context import CliContext, fail, pass_context, print_json


@click.command("exposure")
@click.argument("hosts", nargs=-1, metavar="[HOST]...")
@click.option("--json", "as_json", is_flag=True, help='Print {"hosts": [...], "findings": [...]} as JSON.')
@pass_context
def command(ctx: CliContext, hosts: tuple[str, ...], as_json: bool) -> None:
    """Send one request per service (NTP mode 6 and 7, DNS recursion, SSDP, memcached, SNMP
    public/private, CHARGEN, QOTD) to each address of [[inventory.hosts]] — or only the HOSTs
    named (a declared name or address) — and report what answers, with the amplification
    factor. Never sends to an address that is not declared; rate-limited ([network.exposure])."""
    from ..network.exposure.runner import findings, report_json, run
    from ..network.exposure.targets import TargetError, select

    settings = ctx.settings
    try:
        targets = select(settings.inventory, list(hosts))
    except TargetError as err:
        fail(str(err), 2)
    if not targets:
        fail("no [[inventory.hosts]] with addresses are declared: nothing to probe", 2)
    reports = run(targets, settings.network.exposure)
    found = findings(reports)
    data = report_json(reports, found)
    if as_json:
        print_json(data)
    else:
        _print_text(data)
    sys.exit(2 if any(f.severity == "critical" for f in found) else 1 if found else 0)


def _print_text(data: dict[str, list[dict[str, object]]]) -> None:
    for host in data["hosts"]:
        click.echo(f"{host['name']} {host['address']}")
        for s in host["services"]:  # type: ignore[attr-defined]
            state = f"ANSWERS  {s['request_bytes']} -> {s['response_bytes']} bytes (x{s['factor']})" \
                if s["answered"] else "closed"
            click.echo(f"  {s['service']:<17} udp/{s['port']:<6} {state}")
    for f in data["findings"]:
        click.echo("")
        click.echo(f"{str(f['severity']).upper():8} {f['check']}  {f['subject']}")
        click.echo(f"  {f['message']}")
        click.echo(f"  fix: {f['advice']}")
    if not data["findings"]:
        click.echo("\nno amplification-prone service answered")
