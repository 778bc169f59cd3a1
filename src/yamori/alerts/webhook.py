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
        import ssl

        import aiohttp

        url = self.settings.url
        shown = redact_url(url)  # the path is often the secret: errors name the host only
        timeout = aiohttp.ClientTimeout(total=self.settings.timeout)
        headers = {"User-Agent": "yamori", **self.settings.headers}
        # a verifying context of its own, with the system CAs: aiohttp's module-wide default
        # is left empty in the agent (yamori.heap.import_aiohttp)
        context = ssl.create_default_context() if url.lower().startswith("https:") else None
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
                url, json=messages.webhook_payload(note), headers=headers, ssl=context if context else True
            ) as response:
                if response.status >= 300:
                    text = messages.clean(await response.text(errors="replace"), 200)
                    raise DeliveryError(f"webhook {shown} answered HTTP {response.status} {text}".rstrip())
        except TimeoutError as err:
            raise DeliveryError(f"webhook {shown}: no answer within {self.settings.timeout:g}s") from err
        except aiohttp.ClientError as err:
            raise DeliveryError(f"webhook {shown}: {scrub(str(err))}") from err
