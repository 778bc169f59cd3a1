"""`yamori guard`: read PostgreSQL logs for authentication failures, watch them, manage bans."""

from __future__ import annotations

import sys

import click

from .context import CliContext, fail, pass_context, print_json

FORMAT = click.Choice(["auto", "stderr", "csvlog", "jsonlog", "syslog"])
LANGS = ("en", "ja")   # the languages `guard scan` recognises


@click.group("guard")
def command() -> None:
    """PostgreSQL access guard: scan logs, watch them, list and lift bans."""


@command.command()
@click.option("--log-format", "log_format", type=FORMAT, default="auto", show_default=True,
              help="Log format; auto looks at the file name and first line.")
@click.option("--log-line-prefix", "prefix", default=None, metavar="P",
              help="The server's log_line_prefix (stderr). Default: guessed from the file; '' for bare messages.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per failure, then a summary object.")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@pass_context
def scan(ctx: CliContext, log_format: str, prefix: str | None, as_json: bool, files: tuple[str, ...]) -> None:
    """Read whole log FILEs once and report every authentication failure.

    Exit status: 0 no failures, 1 failures found, 2 a file could not be read or parsed."""
    from ..guard.scanout import ScanTally
    from ..postgres.log.catalog import LOCALE_DIR, catalog_problems
    from ..postgres.log.prefix import PrefixError, compile_prefix
    from ..postgres.log.read import scan_file
    from ..records import ParseProblem

    if prefix is not None:
        try:
            compile_prefix(prefix)
        except PrefixError as err:
            fail(str(ParseProblem("command line", None, err.reason, field="--log-line-prefix")), 2)
    # [agent] locale_dir from the config file when there is one (without one, its default: the
    # config model is not loaded for nothing, it costs as much as a small scan)
    locale_dir = str(ctx.settings.agent.locale_dir) if ctx.has_config_file else LOCALE_DIR
    for problem in catalog_problems(LANGS, locale_dir):
        click.echo(f"yamori: warning: {problem}", err=True)
    out = sys.stdout
    tally = ScanTally(as_json, out)
    files_read = lines = errors = 0
    show_progress = not as_json and sys.stderr.isatty()
    for path in files:
        if show_progress:
            click.echo(f"reading {path} ...", err=True)
        report = scan_file(path, log_format, prefix, LANGS, on_event=tally.add, tally=tally, locale_dir=locale_dir)
        tally.flush()
        for problem in report.errors:
            click.echo(f"yamori: {problem}", err=True)
            errors += 1
        files_read += 1
        lines += report.lines
        for s in report.suspicions:
            click.echo(f"yamori: {path}:{s.line}: suspected log injection: {s.reason}", err=True)
    out.flush()
    totals, sources = tally.totals, tally.sources
    summary = {"files": files_read, "lines": lines, "failures": totals["failures"], "trusted": totals["trusted"],
               "untrusted": totals["untrusted"], "attributed": totals["attributed"], "sources": len(sources),
               "by_kind": dict(tally.kinds), "by_lang": dict(tally.langs),
               "top_sources": [{"source": s, "failures": n} for s, n in sources.most_common(10)]}
    if as_json:
        print_json({"summary": summary})
    else:
        click.echo(f"{totals['failures']} failures in {lines} lines of {files_read} file(s); "
                   f"{totals['attributed']} attributed to {len(sources)} sources, {totals['untrusted']} untrusted")
    if errors:
        sys.exit(2)
    sys.exit(1 if totals["failures"] else 0)


@command.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per failure (same shape as scan).")
@pass_context
def watch(ctx: CliContext, as_json: bool) -> None:
    """Run the guard alone in the foreground and print each event as it is read."""
    import asyncio

    from ..config import Settings
    from ..guard.service import GuardService, PrintSink, print_event, run_foreground

    settings = ctx.settings
    service = GuardService(settings, on_event=print_event(as_json))
    if not service.files():
        fail(f"no log file matches {settings.guard.logs}", 2)

    def reload() -> Settings:
        from ..config import ConfigError, find_config, load_config

        try:
            return load_config(find_config(ctx.config_path))
        except ConfigError as err:
            raise RuntimeError(str(err)) from None

    # SIGTERM/SIGINT: positions saved, exit 0 (like `yamori run`); SIGHUP: the config re-read
    code = asyncio.run(run_foreground(lambda: service, PrintSink(as_json), reload))
    sys.exit(code)


@command.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable list.")
@pass_context
def bans(ctx: CliContext, as_json: bool) -> None:
    """List the addresses banned in nftables now (with time left)."""
    from ..guard.nft import NftError, list_bans

    try:
        rows = list_bans(ctx.settings.guard.table, ctx.settings.guard.nft)
    except NftError as err:
        fail(str(err), 2)
    if as_json:
        print_json([r.as_json() for r in rows])
        return
    if not rows:
        click.echo("no address is banned")
    for r in rows:
        click.echo(f"{r.address:<40} expires in {r.expires}s  {r.comment}")


@command.command()
@click.argument("address")
@pass_context
def unban(ctx: CliContext, address: str) -> None:
    """Lift the ban on ADDRESS (remove it from yamori's nftables set)."""
    from ..guard.nft import NftError, unban_address

    try:
        removed = unban_address(ctx.settings.guard.table, address, ctx.settings.agent.state_dir,
                                ctx.settings.guard.nft)
    except (NftError, ValueError) as err:
        fail(str(err), 2)
    click.echo(f"unbanned {address}" if removed else f"{address} was not banned")
