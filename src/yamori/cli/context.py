"""What every command shares: the config, loaded once, with errors shown as file:line."""

from __future__ import annotations

import json
import os
import sys
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from ..config import Settings


class CliContext:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = config_path

    @cached_property
    def settings(self) -> Settings:
        # imported here: pydantic and the config model cost ~90 ms, and commands that take no
        # config (`guard scan`) must not pay for them
        from ..config import ConfigError, find_config, load_config

        path = find_config(self.config_path)
        try:
            return load_config(path)
        except ConfigError as err:
            fail(str(err))

    @property
    def has_config_file(self) -> bool:
        """Whether `settings` would read a file (yamori.config.find_config's rule: --config,
        $YAMORI_CONFIG, ./yamori.toml), without importing the config model: a command that
        works without a config (`guard scan`) loads it only when there is one."""
        return bool(self.config_path or os.environ.get("YAMORI_CONFIG") or os.path.isfile("yamori.toml"))


def fail(message: str, code: int = 2) -> NoReturn:
    """Print an error for a person (no traceback) and exit with `code`."""
    click.echo(f"yamori: {message}", err=True)
    sys.exit(code)


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=None, default=str))


pass_context = click.make_pass_decorator(CliContext)
