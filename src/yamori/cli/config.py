"""`yamori config check|example|show`."""

from __future__ import annotations

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
@pass_context
def show(ctx: CliContext) -> None:
    """Print the effective configuration (file + defaults) as JSON."""
    print_json(ctx.settings.model_dump(mode="json", by_alias=True))
