"""Webhook: one JSON POST per notification (aiohttp, imported only when a webhook is set)."""

from __future__ import annotations

from ..config.alerts import WebhookSettings
from ..redact import redact_url, scrub
from . import messages
from .delivery import DeliveryError
from .messages import Notification


class WebhookNotifier:
    name = "webhook"

    def __init__(self, settings: WebhookSettings) -> None:
        self.settings = settings

    def describe(self) -> str:
        return f"webhook {redact_url(self.settings.url)}"

    async def send(self, note: Notification) -> None:
        import aiohttp

        url = self.settings.url
        shown = redact_url(url)  # the path is often the secret: errors name the host only
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout)
        headers = {"User-Agent": "yamori", **self.settings.headers}
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
                url, json=messages.webhook_payload(note), headers=headers
            ) as response:
                if response.status >= 300:
                    text = messages.clean(await response.text(errors="replace"), 200)
                    raise DeliveryError(f"webhook {shown} answered HTTP {response.status} {text}".rstrip())
        except TimeoutError as err:
            raise DeliveryError(f"webhook {shown}: no answer within {self.settings.timeout:g}s") from err
        except aiohttp.ClientError as err:
            raise DeliveryError(f"webhook {shown}: {scrub(str(err))}") from err
