"""The notifiers the config asks for, and a test message through each of them now."""

from __future__ import annotations

from ..config.alerts import AlertsSettings
from .delivery import DeliveryError, Notifier
from .messages import trial_notification

__all__ = ["DeliveryError", "Notifier", "build_notifiers", "send_test"]

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
