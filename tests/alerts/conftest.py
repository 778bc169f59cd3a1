"""Fixtures for the alert tests (helpers live in alerts_endpoints.py: a unique module name,
since every conftest.py is importable only as `conftest`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from alerts_endpoints import Inbox, SmtpServer


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpServer]:
    server = SmtpServer(Inbox())
    await server.start()
    yield server
    await server.stop()
