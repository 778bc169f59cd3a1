"""`yamori alerts`: active alerts and whether notifications reach anyone."""

from __future__ import annotations

import time

import click

from ..alerts.messages import ago, local_time
from ..alerts.outbox import OutboxError
from ..alerts.state import Alert
from ..alerts.status import DeliveryStatus, Snapshot, read_snapshot
from ..records import State, worst_state
from .context import CliContext, fail, pass_context, print_json

_COLOURS = {State.CRITICAL: "red", State.UNKNOWN: "magenta", State.WARNING: "yellow", State.OK: "green"}


@click.command("alerts")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {alerts: [...], delivery: {...}}.")
@pass_context
def command(ctx: CliContext, as_json: bool) -> None:
    """Show active alerts and the delivery status of notifications.

    Reads the agent's alert database read-only (safe while `yamori run` is running). Exit code:
    the worst active state, 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    """
    settings = ctx.settings
    try:
        snapshot = read_snapshot(settings.alerts, settings.agent.state_dir)
    except OutboxError as err:
        fail(str(err), 3)
    if as_json:
        print_json({"alerts": [_alert_json(a) for a in snapshot.alerts], "delivery": snapshot.delivery.as_json()})
    else:
        _print(snapshot)
    raise SystemExit(int(worst_state([a.state for a in snapshot.alerts])))


def _alert_json(alert: Alert) -> dict[str, object]:
    data = alert.as_json()
    return {key: data[key] for key in ("rule", "subject", "state", "since", "message", "advice",
                                       "acknowledged_by", "acknowledged_at")}


def _print(snapshot: Snapshot) -> None:
    now = time.time()
    if not snapshot.exists:
        click.echo(f"No alert history yet ({snapshot.database} does not exist: the agent has not run here).")
    elif not snapshot.alerts:
        click.echo("No active alerts.")
    for alert in snapshot.alerts:
        label = click.style(f"{alert.state.label:<8}", fg=_COLOURS[alert.state], bold=True)
        click.echo(f"{label} {alert.rule} {alert.subject}  since {local_time(alert.since)}"
                   f" ({ago(now - alert.since)} ago){'  [flapping]' if alert.flapping else ''}"
                   + (f"  [acknowledged by {alert.acknowledged_by}]" if alert.acknowledged_by else ""))
        click.echo(f"         {alert.message}")
        for index, line in enumerate(alert.advice.splitlines()):
            click.echo(("         → " if index == 0 else "           ") + line)
    click.echo()
    _print_delivery(snapshot.delivery)


def _print_delivery(status: DeliveryStatus) -> None:
    for notifier in status.notifiers:
        if notifier.failures:
            plural = "s" if notifier.failures != 1 else ""
            health = click.style(f"FAILING ({notifier.failures} attempt{plural}): {notifier.last_error}", fg="red")
        elif notifier.last_success_at is not None:
            health = f"ok, last delivery {local_time(notifier.last_success_at)}"
        else:
            health = "nothing delivered yet"
        click.echo(f"Notifier {notifier.description}: {health}")
    if status.configured:
        click.echo(f"Outbox: {status.pending} notification(s) waiting")
    if status.warning:
        click.echo(click.style(f"WARNING: {status.warning}", fg="red", bold=True))
