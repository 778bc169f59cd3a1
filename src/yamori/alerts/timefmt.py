"""Times as alerts show them to machines (a leaf: messages and state both use it)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso_time(stamp: float) -> str:
    """RFC 3339 in UTC, the form webhooks and `--json` use."""
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
