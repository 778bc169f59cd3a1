"""`yamori web passwd NAME`: the [[web.users]] entry for a login to the agent's pages."""

from __future__ import annotations

import json
import sys

import click

from .context import fail


@click.group("web")
def command() -> None:
    """The agent's web pages: logins for binds beyond loopback."""


@command.command("passwd")
@click.argument("name")
def passwd(name: str) -> None:
    """Print the [[web.users]] entry for NAME. The password is asked for (twice) on a
    terminal, or read as the first line of standard input otherwise; it never appears in argv."""
    from ..config.web import WebUser
    from ..web.passwords import hash_password

    if sys.stdin.isatty():
        password = click.prompt("password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if len(password) < 8:
        fail("the password must have at least 8 characters")
    if len(password) > 1024:
        fail("the password must have at most 1024 characters")
    encoded = hash_password(password)
    try:
        WebUser(name=name, password_hash=encoded)
    except ValueError as err:
        fail(f"NAME: {str(err).splitlines()[-1].strip()}")
    click.echo(f"[[web.users]]\nname = {json.dumps(name)}\npassword_hash = {json.dumps(encoded)}")
