"""What every notifier is: a name, a one-line description, and `send` that raises
DeliveryError with a sentence a person can act on."""

from __future__ import annotations

from typing import Protocol

from ..config.alerts import AlertsSettings
from .messages import Notification, trial_notification


class DeliveryError(Exception):
    """A notification was not accepted; the text says by whom and why."""


class Notifier(Protocol):
    name: str

    def describe(self) -> str: ...

    async def send(self, note: Notification) -> None: ...


def build_notifiers(settings: AlertsSettings) -> list[Notifier]:
    """The notifiers the config asks for; an empty list means alerts reach no one."""
    found: list[Notifier] = []
    if settings.email.to:
        from .email import EmailNotifier

        found.append(EmailNotifier(settings.email))
    if settings.webhook.url:
        from .webhook import WebhookNotifier

        found.append(WebhookNotifier(settings.webhook))
    return found


async def send_test(settings: AlertsSettings, host: str) -> list[tuple[Notifier, str | None]]:
    """Send a test message through every configured notifier now (not through the outbox);
    returns each notifier with None (accepted) or the error."""
    results: list[tuple[Notifier, str | None]] = []
    note = trial_notification(host)
    for notifier in build_notifiers(settings):
        try:
            await notifier.send(note)
        except DeliveryError as err:
            results.append((notifier, str(err)))
        except Exception as err:  # report it like any failure: the operator needs the reason, not a trace
            results.append((notifier, f"{type(err).__name__}: {err}"))
        else:
            results.append((notifier, None))
    return results
