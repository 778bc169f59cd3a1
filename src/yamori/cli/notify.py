"""`yamori notify test`: prove that alerts reach someone, right now."""

from __future__ import annotations

import asyncio
import socket

import click

from ..alerts.notifier import send_test
from ..alerts.status import NOT_CONFIGURED
from .context import CliContext, pass_context, print_json


@click.group("notify")
def command() -> None:
    """Notifier commands."""


@command.command("test")
@click.option("--json", "as_json", is_flag=True, help='Print JSON: {"notifiers": [{name, description, ok, error}]}.')
@pass_context
def test(ctx: CliContext, as_json: bool) -> None:
    """Send a test message through every configured notifier now (not via the outbox).

    Prints OK or the error per notifier. Exit code: 0 all delivered, 1 one or more failed,
    2 no notifier is configured.
    """
    settings = ctx.settings
    host = settings.agent.hostname or socket.gethostname()
    results = asyncio.run(send_test(settings.alerts, host))
    if as_json:
        print_json({"notifiers": [{"name": n.name, "description": n.describe(), "ok": err is None, "error": err}
                                  for n, err in results],
                    "warning": None if results else NOT_CONFIGURED})
    elif not results:
        click.echo(f"yamori: {NOT_CONFIGURED}", err=True)
    for notifier, error in results if not as_json else ():
        if error is None:
            click.echo(f"{click.style('OK', fg='green', bold=True)}      {notifier.describe()}")
        else:
            click.echo(f"{click.style('FAILED', fg='red', bold=True)}  {notifier.describe()}: {error}")
    if not results:
        raise SystemExit(2)
    raise SystemExit(1 if any(error for _, error in results) else 0)
