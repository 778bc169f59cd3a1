"""`yamori run`: the agent in the foreground (what `make run` and the systemd unit start)."""

from __future__ import annotations

import asyncio
import logging
import sys

import click

from ..config import ConfigError, Settings, find_config, load_config
from .context import CliContext, pass_context

log = logging.getLogger("yamori")


@click.command("run")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"]), help="Log verbosity (stderr).")
@pass_context
def command(ctx: CliContext, log_level: str) -> None:
    """Run the agent: every probe on its interval, history in the store, alerts to the
    configured notifiers, and /metrics, /healthz and a status page on [agent] listen.
    Stops cleanly on SIGTERM or Ctrl-C; SIGHUP re-reads the config."""
    settings = ctx.settings
    from ..logs import configure_logging

    configure_logging(log_level)
    from ..heap import import_aiohttp, limit_arenas

    limit_arenas()     # before any thread starts: one malloc arena per thread costs MBs of RSS
    import_aiohttp()   # likewise: without aiohttp's unused copies of the CA bundle
    from ..alerts.outbox import OutboxError
    from ..store.base import StoreError
    from ..web.server import WebRefused

    try:
        asyncio.run(_serve(settings, ctx.config_path))
    except (OSError, OutboxError, StoreError, WebRefused) as err:
        # a port in use, an unwritable state_dir, a corrupt database: say which, no traceback
        log.error("cannot start: %s", err)
        sys.exit(2)


async def _serve(settings: Settings, config_path: str | None) -> None:
    from ..agent import Agent

    while True:
        agent = Agent(settings)
        task = asyncio.create_task(agent.run())
        ready = asyncio.create_task(agent.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if agent.state.listen and not task.done():
            host, port = agent.state.listen
            scheme = "https" if settings.web.tls_cert else "http"
            shown = f"[{host}]" if ":" in host else host
            click.echo(f"yamori: agent running; status page {scheme}://{shown}:{port}/ (metrics at /metrics)",
                       err=True)
        await task
        ready.cancel()
        if not agent.reload_requested:
            return
        try:
            settings = load_config(find_config(config_path))
            log.info("configuration reloaded")
        except ConfigError as err:
            log.error("configuration not reloaded, keeping the previous one:\n%s", err)
