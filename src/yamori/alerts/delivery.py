"""What every notifier is: a name, a one-line description, and `send` that raises
DeliveryError with a sentence a person can act on. A leaf: the notifiers import it."""

from __future__ import annotations

from typing import Protocol

from .messages import Notification


class DeliveryError(Exception):
    """A notification was not accepted; the text says by whom and why."""


class Notifier(Protocol):
    name: str

    def describe(self) -> str: ...

    async def send(self, note: Notification) -> None: ...
