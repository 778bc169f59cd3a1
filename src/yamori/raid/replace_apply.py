"""Carry out a replacement `Plan`, verifying each drive's serial right before touching it.

The command runner is a parameter (`Runner`): the CLI passes one that runs subprocesses, tests
pass one that records (this machine has no disks to sacrifice). Nothing runs unless every
serial in the plan still matches the drive now behind that name.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from .disks import read_disk
from .model import MdStat
from .replace import Plan, Step
from .report import describe_sync

Runner = Callable[[Sequence[str], str | None], str]
"""run(argv, stdin_text) -> stdout; raises on a non-zero exit."""

Echo = Callable[[str], None]


class ApplyError(RuntimeError):
    """A step could not be verified or failed; `done` lists the steps that completed."""

    def __init__(self, message: str, done: list[Step]) -> None:
        super().__init__(message)
        self.done = done


def run_subprocess(argv: Sequence[str], stdin: str | None) -> str:
    done = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv)}` exited {done.returncode}: {done.stderr.strip()[:300]}")
    return done.stdout


def fresh_identity(dump: str) -> str:
    """An `sfdisk -d` dump fit for another disk: drop the disk and partition identifiers (two
    disks with one GPT GUID confuse udev's by-id links and firmware) and last-lba, which
    belongs to the source disk's size; sfdisk generates or computes them for the target."""
    lines = []
    for line in dump.splitlines():
        if line.startswith(("label-id:", "last-lba:", "device:")):
            continue
        lines.append(re.sub(r",\s*uuid=[0-9A-Fa-f-]+", "", line))
    return "\n".join(lines) + "\n"


def verify(plan: Plan, step: Step, sys_root: Path, dev_root: Path) -> None:
    """The drive behind the step's target still carries the serial the plan was made with."""
    if step.target is None:
        return
    if step.serial is None:
        # Only taking a dead member out of its array may proceed without a readable serial.
        if any(a in ("--remove", "--fail") for argv in step.argv for a in argv):
            return
        raise ApplyError(f"cannot verify /dev/{step.target}: its serial is unknown", [])
    now = read_disk(sys_root, dev_root, step.target).serial
    if now != step.serial:
        raise ApplyError(f"/dev/{step.target} now has serial {now or 'unknown'}, the plan expects {step.serial}: "
                         "the drives changed since the plan was made; make a new plan", [])


def apply(plan: Plan, sys_root: Path, dev_root: Path, run: Runner, echo: Echo,
          follow: Callable[[], object] | None = None) -> list[Step]:
    """Run every non-manual step in order; returns the steps done. Verifies all serials first."""
    for step in plan.steps:
        verify(plan, step, sys_root, dev_root)
    done: list[Step] = []
    for step in plan.steps:
        if step.follow and follow is not None:
            echo(f"→ {step.title}")
            follow()
            done.append(step)
            continue
        if step.manual or not step.argv:
            echo(f"• {step.title}" + (f": {step.command}" if step.command else ""))
            continue
        try:
            verify(plan, step, sys_root, dev_root)
            echo(f"→ {step.title}: {step.command}")
            _run_step(step, run)
        except ApplyError as err:
            raise ApplyError(str(err), done) from None
        except Exception as err:  # a failed command stops the run; say what was done
            if step.optional:  # the locate LED: not every enclosure obeys ledctl
                echo(f"  not done, going on: {err}")
                continue
            raise ApplyError(f"{step.command}: {err}", done) from err
        done.append(step)
    return done


def _run_step(step: Step, run: Runner) -> None:
    if len(step.argv) == 2:  # sfdisk -d SURVIVOR | sfdisk NEW, with fresh identifiers
        dump = run(step.argv[0], None)
        run(step.argv[1], fresh_identity(dump))
    else:
        run(step.argv[0], None)


def follow_rebuild(read: Callable[[], MdStat], arrays: Sequence[str], echo: Echo,
                   sleep: Callable[[float], None] = time.sleep, every: float = 10.0,
                   max_checks: int | None = None) -> bool:
    """Report progress until none of `arrays` is degraded; True when all are whole again.
    Interrupting only stops the watching: the kernel carries on with the rebuild."""
    checks = 0
    while max_checks is None or checks < max_checks:
        mdstat = read()
        pending = [a for a in mdstat.arrays if a.name in arrays and a.degraded]
        if not pending:
            echo("rebuild finished: " + ", ".join(f"{a.name} {a.slots or ''}" for a in mdstat.arrays
                                                    if a.name in arrays))
            return True
        echo("; ".join(f"{a.name}: {describe_sync(a.activity) if a.activity else 'waiting'}" for a in pending))
        checks += 1
        sleep(every)
    return False
