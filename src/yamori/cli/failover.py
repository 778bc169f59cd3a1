"""`yamori failover`: plan a PostgreSQL failover, then run it (dry-run unless --yes)."""

from __future__ import annotations

import sys

import click

from .context import CliContext, fail, pass_context, print_json


@click.group("failover")
def command() -> None:
    """Guided PostgreSQL failover: check the standby, show the expected data loss, promote,
    verify with a write, switch DNS, and say how to rebuild the old primary."""


def _plan(ctx: CliContext, target: str, accept_loss: bool, old_primary_down: bool):  # type: ignore[no-untyped-def]
    from ..postgres.failover.plan import PlanOptions, plan_failover
    from ..postgres.failover.survey import FailoverError

    try:
        return plan_failover(ctx.settings.postgres, target, PlanOptions(accept_loss, old_primary_down))
    except FailoverError as err:
        fail(str(err))


def _is_terminal() -> bool:
    return sys.stdin.isatty()


ACCEPT_LOSS = click.option("--accept-loss", is_flag=True,
                           help="Promote even beyond [postgres.failover] max_lag_bytes / max_replay_age, or when "
                                "the target cannot catch up with a reachable old primary.")
OLD_PRIMARY_DOWN = click.option("--old-primary-down", is_flag=True,
                                help="State that the unreachable old primary is powered off or isolated "
                                     "(yamori cannot fence what it cannot reach).")


@command.command("plan")
@click.option("--to", "target", required=True, metavar="NAME", help="The standby to promote (a configured name).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@ACCEPT_LOSS
@OLD_PRIMARY_DOWN
@pass_context
def plan(ctx: CliContext, target: str, as_json: bool, accept_loss: bool, old_primary_down: bool) -> None:
    """Check the target and print every step. Exit 0 when ready, 2 when blocked."""
    from ..postgres.failover.plan import plan_text

    result = _plan(ctx, target, accept_loss, old_primary_down)
    if as_json:
        print_json(result.as_json())
    else:
        click.echo("\n".join(plan_text(result)))
    sys.exit(0 if result.ready else 2)


@command.command("run")
@click.option("--to", "target", required=True, metavar="NAME", help="The standby to promote (a configured name).")
@click.option("--yes", is_flag=True, help="Really do it. Without it, only the plan is printed.")
@click.option("--wait", default=60.0, show_default=True, help="Seconds to wait for catch-up / promotion.")
@ACCEPT_LOSS
@OLD_PRIMARY_DOWN
@pass_context
def run(ctx: CliContext, target: str, yes: bool, wait: float, accept_loss: bool, old_primary_down: bool) -> None:
    """Fence the old primary, promote NAME, verify a write, switch DNS.

    Dry-run unless --yes. With --yes at a terminal, NAME must be typed to confirm; without a
    terminal --yes alone proceeds. Exit 0 done (or dry run), 2 blocked, refused or a step failed."""
    from ..postgres.failover.apply import RunOptions, StepFailed, StepResult, apply_plan
    from ..postgres.failover.plan import plan_text

    result = _plan(ctx, target, accept_loss, old_primary_down)
    click.echo("\n".join(plan_text(result)))
    if not result.ready:
        fail("failover blocked; nothing was changed", 2)
    if not yes:
        click.echo(f"\ndry run: nothing was changed. Run `yamori failover run --to {target} --yes` to do it.")
        return
    if _is_terminal():
        typed = click.prompt(f"\nType the name of the standby to promote ({target}) to go on", default="",
                             show_default=False)
        if typed.strip() != target:
            fail("not confirmed; nothing was changed", 2)

    def show(step: StepResult) -> None:
        mark = "ok  " if step.ok else "FAIL"
        click.echo(f"[{mark}] {step.step.title}: {step.message}")

    click.echo("")
    try:
        done = apply_plan(result, ctx.settings.postgres, show, RunOptions(wait, accept_loss))
    except StepFailed as err:
        fail(f"{err}; nothing was changed", 2)
    if not done:
        fail("failover stopped at the failed step above; later steps were not run", 2)
    click.echo(f"\nfailover to {target} done; do the [you] steps above.")
