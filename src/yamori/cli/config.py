"""`yamori config check|example|show`."""

from __future__ import annotations

import sys

import click

from ..config import ConfigError, find_config, load_config
from .context import CliContext, fail, pass_context, print_json


@click.group("config")
def command() -> None:
    """Validate the configuration or print a commented example."""


@command.command("check")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@pass_context
def check(ctx: CliContext, file: str | None) -> None:
    """Validate FILE (default: the --config file). Every problem is listed as
    FILE:LINE: KEY: what was expected. Exit 0 valid, 2 invalid."""
    path = find_config(file or ctx.config_path)
    if path is None:
        click.echo("no config file found: yamori runs on its defaults (see `yamori config example`)")
        return
    try:
        load_config(path)
    except ConfigError as err:
        fail(str(err))
    click.echo(f"{path}: ok")


@command.command("example")
def example() -> None:
    """Print a commented example config with every key and its default."""
    from ..config.example import example_config

    click.echo(example_config(), nl=False)


@command.command("show")
@click.option("--reveal", is_flag=True, help="Show passwords, secrets and full webhook URLs (only to a terminal).")
@pass_context
def show(ctx: CliContext, reveal: bool) -> None:
    """Print the effective configuration (file + defaults) as JSON, secrets redacted
    (password=***, webhook URLs reduced to their host, header values ***)."""
    from ..redact import redact_config

    data = ctx.settings.model_dump(mode="json", by_alias=True)
    if reveal:
        if not _stdout_is_terminal():
            fail("--reveal prints secrets: only to a terminal, not into a pipe or a file", 2)
        print_json(data)
        return
    print_json(redact_config(data))


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()
