"""The mail when a replacement's arrays are whole again: the rebuild takes hours, the operator
should not have to watch it. Sent through the configured notifiers (email, webhook)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from ..alerts.messages import Notification
from ..alerts.notifier import DeliveryError, build_notifiers
from ..alerts.state import Kind
from ..config.alerts import AlertsSettings
from ..records import State
from .model import MdStat
from .replace import Plan


def whole_again(host: str, plan: Plan, mdstat: MdStat, started: float, now: float | None = None) -> Notification:
    now = time.time() if now is None else now
    arrays = [a for a in mdstat.arrays if a.name in {p.array for p in plan.pairings}]
    state = ", ".join(f"{a.name} [{a.raid_disks}/{a.working_disks}] [{a.slots or ''}]" for a in arrays)
    new = plan.new.label() if plan.new else "the new drive"
    minutes = max(0, int(now - started)) // 60
    message = (f"RAID rebuild finished: {state}\n\n"
               f"The replacement of {plan.failed.label()} by {new} is complete; every array is whole "
               f"again (followed for {minutes // 60}h{minutes % 60:02d}m).")
    return Notification(host, "raid_replace", ", ".join(a.name for a in arrays) or plan.array, Kind.REPORT,
                        State.OK, State.CRITICAL, started, now, message, "")


async def send(settings: AlertsSettings, note: Notification) -> list[str]:
    """Send through every notifier; returns the errors (an empty list: all accepted)."""
    errors: list[str] = []
    notifiers: Sequence[object] = build_notifiers(settings)
    if not notifiers:
        return ["no notifier is configured ([alerts.email] to, or [alerts.webhook] url)"]
    for notifier in build_notifiers(settings):
        try:
            await notifier.send(note)
        except DeliveryError as err:
            errors.append(f"{notifier.name}: {err}")
        except Exception as err:  # the operator needs the reason, not a trace
            errors.append(f"{notifier.name}: {type(err).__name__}: {err}")
    return errors
