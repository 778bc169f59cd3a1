"""Logins, sessions, CSRF tokens and the login rate limit. In memory: an agent restart logs
everyone out, which is the safe direction."""

from __future__ import annotations

import hmac
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

MAX_SESSIONS = 1000
MAX_TRACKED_CLIENTS = 10_000
WINDOW = 60.0


@dataclass
class Session:
    token: str
    user: str
    csrf: str
    expires: float


class Sessions:
    def __init__(self, lifetime: float, clock: Callable[[], float] = time.time) -> None:
        self.lifetime = lifetime
        self.clock = clock
        self._by_token: dict[str, Session] = {}

    def create(self, user: str) -> Session:
        now = self.clock()
        self._prune(now)
        if len(self._by_token) >= MAX_SESSIONS:   # drop the oldest rather than grow without bound
            oldest = min(self._by_token.values(), key=lambda s: s.expires)
            del self._by_token[oldest.token]
        session = Session(secrets.token_urlsafe(32), user, secrets.token_urlsafe(32), now + self.lifetime)
        self._by_token[session.token] = session
        return session

    def get(self, token: str | None) -> Session | None:
        if not token or len(token) > 128:
            return None
        session = self._by_token.get(token)
        if session is None:
            return None
        if session.expires <= self.clock():
            del self._by_token[token]
            return None
        return session

    def drop(self, token: str | None) -> None:
        if token:
            self._by_token.pop(token, None)

    def _prune(self, now: float) -> None:
        for token in [t for t, s in self._by_token.items() if s.expires <= now]:
            del self._by_token[token]


def csrf_ok(session: Session | None, presented: str | None) -> bool:
    if session is None or not presented:
        return False
    return hmac.compare_digest(session.csrf.encode(), presented.encode("utf-8", "replace"))


class LoginLimiter:
    """Failed logins per client address (and in all) in a sliding minute."""

    def __init__(self, per_client: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_client = per_client
        self.total = per_client * 10
        self.clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()

    def _trim(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - WINDOW:
            times.popleft()

    def allowed(self, client: str) -> bool:
        now = self.clock()
        self._trim(self._all, now)
        times = self._failures.get(client)
        if times is not None:
            self._trim(times, now)
            if not times:
                del self._failures[client]
            elif len(times) >= self.per_client:
                return False
        return len(self._all) < self.total

    def failed(self, client: str) -> None:
        now = self.clock()
        if client not in self._failures and len(self._failures) >= MAX_TRACKED_CLIENTS:
            self._failures.clear()   # a flood of addresses: the global limit still holds
        self._failures.setdefault(client, deque()).append(now)
        self._all.append(now)
