"""`yamori net neighbours`: what is on this host's LAN, and duplicate addresses / gateway changes.
Exit status like `check`: 2 = a critical finding, 1 = a warning, 0 = none, 3 = probes could not
be sent and nothing was found."""

from __future__ import annotations

import sys

import click

from .context import CliContext, pass_context, print_json


@click.command("neighbours")
@click.option("--json", "as_json", is_flag=True,
              help='Print {"neighbours": [...], "findings": [...]} as JSON.')
@pass_context
def command(ctx: CliContext, as_json: bool) -> None:
    """Send RFC 5227 ARP probes for the declared [[inventory.hosts]] addresses on this host's
    links and for its own addresses, read the neighbour table, and list the LAN: address, MAC,
    vendor, first and last seen, whether it is declared. Unknown devices are listed, not
    alerted; two devices answering for one address, or a new MAC for the default gateway, are
    findings. Probing needs root or CAP_NET_RAW."""
    from ..network.lan.scan import NeighbourScan

    result = NeighbourScan(ctx.settings).run()
    for problem in result.problems:
        click.echo(f"yamori: {problem}", err=True)
    if as_json:
        print_json(result.as_json())
    else:
        _print_text(result.as_json())
    sys.exit(_exit_code(result.as_json()["findings"], bool(result.problems)))


def _exit_code(findings: list[dict[str, str]], problems: bool) -> int:
    if any(f["severity"] == "critical" for f in findings):
        return 2
    if findings:
        return 1
    return 3 if problems else 0


def _print_text(data: dict[str, list[dict[str, object]]]) -> None:
    rows = data["neighbours"]
    if rows:
        click.echo(f"{'ADDRESS':<26} {'MAC':<17} {'INTERFACE':<10} {'KNOWN':<5} {'LAST SEEN':<20} VENDOR")
    for r in rows:
        click.echo(f"{r['address']!s:<26} {r['mac']!s:<17} {r['interface']!s:<10} {'yes' if r['known'] else 'no':<5} "
                   f"{r['last_seen'] or '-'!s:<20} {r['vendor'] or '-'}")
    if not rows:
        click.echo("no neighbours seen")
    for f in data["findings"]:
        click.echo("")
        click.echo(f"{str(f['severity']).upper():8} {f['check']}  {f['subject']}")
        click.echo(f"  {f['message']}")
        click.echo(f"  fix: {f['advice']}")
