"""`yamori remote`: run a command on an inventory host through its jump host, target verified."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

import click

from .context import CliContext, fail, pass_context, print_json

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..remote.route import Route
    from ..remote.runner import Verified

# Like ssh: 255 means "yamori's own failure, nothing ran (or the end is unknown)", so it is
# not confused with the remote command's exit code.
EXIT_REMOTE_ERROR = 255


@click.group("remote")
def command() -> None:
    """Commands on other hosts, through their jump host, after proving who answered."""


@command.command("run", context_settings={"ignore_unknown_options": True})
@click.argument("host")
@click.argument("argv", nargs=-1, required=True, type=click.UNPROCESSED, metavar="-- COMMAND...")
@click.option("--via", "via", metavar="JUMP", help="Go through this inventory host instead of the declared `via`.")
@click.option("--dry-run", "dry_run", is_flag=True,
              help="Connect and verify the target, print the command, run nothing.")
@click.option("--timeout", "timeout", type=click.FloatRange(1, 300), default=15.0, show_default=True,
              help="Seconds for each hop to connect and log in.")
@pass_context
def run_command(ctx: CliContext, host: str, argv: tuple[str, ...], via: str | None, dry_run: bool,
                timeout: float) -> None:
    """Run COMMAND on HOST (an [[inventory.hosts]] name) and nowhere else.

    Each hop's host key must equal its pinned `host_key`; then HOST must answer its `hostname`
    (and `machine_id` when set) over the same connection, else nothing runs anywhere. COMMAND's
    arguments are quoted for the remote shell as given. Standard input is passed on when it is
    not a terminal (the way to hand over a secret: never put one in COMMAND).

    Exit code: the remote command's; 2 for a usage or config error; 255 when nothing ran
    (unreachable, not verified) or the connection dropped while it ran."""
    from ..remote.route import RemoteError, command_line, resolve

    settings = ctx.settings
    try:
        route = resolve(settings.inventory, host, via)
        line = command_line(argv)
    except RemoteError as err:
        fail(str(err), 2)
    stdin = None if dry_run or sys.stdin is None or sys.stdin.isatty() else sys.stdin.buffer.read()

    def verified(v: Verified) -> None:
        click.echo(f"yamori: target verified: {v.describe()}", err=True)
        if dry_run:
            click.echo(f"yamori: would run on {v.route.target.name}: {line}", err=True)

    code = _run(route, argv, stdin, dry_run, timeout, verified)
    if dry_run:
        click.echo("yamori: dry-run, nothing was run", err=True)
    sys.exit(code)


def _run(route: Route, argv: tuple[str, ...], stdin: bytes | None, dry_run: bool, timeout: float,
         verified: Callable[[Verified], None]) -> int:
    from ..remote import runner
    from ..remote.route import RemoteError

    try:
        return asyncio.run(runner.run(route, argv, out=runner.stream_sink(sys.stdout.buffer),
                                      err=runner.stream_sink(sys.stderr.buffer), stdin=stdin, dry_run=dry_run,
                                      timeout=timeout, on_verified=verified))
    except RemoteError as error:
        fail(str(error), EXIT_REMOTE_ERROR)


@command.command("pin")
@click.argument("host")
@click.option("--timeout", "timeout", type=click.FloatRange(1, 300), default=15.0, show_default=True,
              help="Seconds for each hop to connect.")
@pass_context
def pin(ctx: CliContext, host: str, timeout: float) -> None:
    """Show HOST's SSH host key fingerprint (read through its verified jump hosts) and, once you
    confirm it is the one the machine shows on its console (`ssh-keygen -lf
    /etc/ssh/ssh_host_ed25519_key.pub`), print the `host_key = ...` line to add to its
    [[inventory.hosts]] entry. The config file is never rewritten by yamori.

    Exit code: 0 line printed, 1 not confirmed, 2 config error, 255 unreachable."""
    from ..remote.connect import host_key_of
    from ..remote.route import RemoteError, RouteError, resolve

    settings = ctx.settings
    try:
        route = resolve(settings.inventory, host, require_keys=False)
    except RouteError as err:
        fail(str(err), 2)
    try:
        key = asyncio.run(host_key_of(route, timeout))
    except RemoteError as err:
        fail(str(err), EXIT_REMOTE_ERROR)
    if key is None:
        fail(f"{host}: no host key was presented", EXIT_REMOTE_ERROR)
    line = key.export_public_key("openssh").decode().split()
    key_line = f"{line[0]} {line[1]}"
    print_to = sys.stderr
    click.echo(f"{route.target.name} at {route.describe()} presents:", file=print_to)
    click.echo(f"  {line[0]} {key.get_fingerprint('sha256')}", file=print_to)
    pinned = route.target.host_key
    if pinned:
        same = pinned.split()[:2] == line[:2]
        click.echo("  this is the key already pinned" if same else
                   "  WARNING: this is NOT the key pinned now: the host was reinstalled, or something else "
                   "answers at that address", file=print_to)
    if not click.confirm("Does this fingerprint match the one shown on the machine's own console?",
                         default=False, err=True):
        click.echo("not pinned", err=True)
        sys.exit(1)
    click.echo(f"Add to the [[inventory.hosts]] entry named {route.target.name!r}:", err=True)
    click.echo(f'host_key = "{key_line}"')


@command.command("check")
@click.argument("hosts", nargs=-1, metavar="[HOST...]")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of lines.")
@click.option("--timeout", "timeout", type=click.FloatRange(1, 300), default=15.0, show_default=True,
              help="Seconds for each hop to connect and log in.")
@pass_context
def check(ctx: CliContext, hosts: tuple[str, ...], as_json: bool, timeout: float) -> None:
    """Verify now that every declared host (those with `ssh`), or each HOST, is reachable through
    its jump host and is the machine it should be (host key, hostname, machine-id).

    Exit code: 0 all verified, 1 a host cannot be verified (no pinned key), 2 a host is
    unreachable or not who it should be (or a usage error), 3 no host declared."""
    from ..remote.check import check_hosts, declared, report

    inventory = ctx.settings.inventory
    names = list(hosts) or declared(inventory)
    unknown = [n for n in names if inventory.host(n) is None]
    if unknown:
        fail(f"not in [[inventory.hosts]]: {', '.join(unknown)}", 2)
    checks = asyncio.run(check_hosts(inventory, names, timeout))
    data = report(checks)
    if as_json:
        print_json(data)
    else:
        if not checks:
            click.echo("no host with an `ssh` address in [[inventory.hosts]]")
        for result in checks:
            click.echo(f"{result.state.label:8s} {result.name}: {result.message}")
    sys.exit({"OK": 0, "WARNING": 1, "CRITICAL": 2}.get(data["state"], 3))



