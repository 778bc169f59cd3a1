"""Send one request per service to each target, rate-limited, and measure what comes back.

Each request goes out on its own connected UDP socket, so the kernel delivers only datagrams
from that address and port; answers are read for a bounded time and count, never interpreted
beyond the protocol check (an answer is hostile input: it is measured, not quoted)."""

from __future__ import annotations

import secrets
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ...config.lan import ExposureSettings
from ...records import Finding, Severity
from .services import SERVICES, Ask, UdpService
from .targets import Target

MAX_DATAGRAMS = 64       # per request: enough for a multi-part NTP answer, bounded against a flood
CHECK = "net.amplifier"


@dataclass(frozen=True, slots=True)
class Measured:
    service: str
    port: int
    answered: bool
    request_bytes: int
    response_bytes: int

    @property
    def factor(self) -> float:
        return round(self.response_bytes / self.request_bytes, 2) if self.request_bytes else 0.0

    def as_json(self) -> dict[str, Any]:
        return {"service": self.service, "port": self.port, "answered": self.answered,
                "request_bytes": self.request_bytes, "response_bytes": self.response_bytes, "factor": self.factor}


@dataclass(slots=True)
class HostReport:
    target: Target
    services: list[Measured] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"name": self.target.name, "address": self.target.address,
                "services": [m.as_json() for m in self.services]}


class RateLimit:
    """At most `rate` sends per second, across every host of one run."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.gap = 1.0 / rate
        self.clock, self.sleep = clock, sleep
        self.next = 0.0

    def wait(self) -> None:
        now = self.clock()
        if now < self.next:
            self.sleep(self.next - now)
            now = self.next
        self.next = now + self.gap


@dataclass(slots=True)
class _Pending:
    service: UdpService
    ask: Ask
    sock: socket.socket | None
    request_bytes: int
    answered: bool = False
    response_bytes: int = 0
    datagrams: int = 0


def probe_host(target: Target, settings: ExposureSettings, limit: RateLimit) -> HostReport:
    family = socket.AF_INET6 if ":" in target.address else socket.AF_INET
    pending = [_send(target, family, SERVICES[name], settings, limit) for name in settings.services]
    try:
        _collect([p for p in pending if p.sock is not None], settings.wait)
    finally:
        for p in pending:
            if p.sock is not None:
                p.sock.close()
    return HostReport(target, [Measured(p.service.name, p.service.port, p.answered, p.request_bytes,
                                        p.response_bytes) for p in pending])


def _send(target: Target, family: int, service: UdpService, settings: ExposureSettings,
          limit: RateLimit) -> _Pending:
    ask = Ask(secrets.randbits(31) or 1, settings.dns_name)
    payload = service.build(ask)
    limit.wait()
    sock = None
    try:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setblocking(False)
        sock.connect((target.address, service.port))
        sock.send(payload)
    except OSError:          # no IPv6, no route, refused at once: nothing answered
        if sock is not None:
            sock.close()
        return _Pending(service, ask, None, len(payload))
    return _Pending(service, ask, sock, len(payload))


def _collect(pending: list[_Pending], wait: float) -> None:
    by_fd = {p.sock.fileno(): p for p in pending if p.sock is not None}
    end = time.monotonic() + wait
    while by_fd:
        left = end - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select(list(by_fd), [], [], left)
        for fd in ready:
            p = by_fd[fd]
            if not _read_one(p):
                del by_fd[fd]


def _read_one(p: _Pending) -> bool:
    """Read one datagram into `p`; False when this socket is done (refused, or enough read)."""
    assert p.sock is not None
    try:
        data = p.sock.recv(65535)
    except BlockingIOError:
        return True
    except OSError:          # ICMP port unreachable on a connected socket
        return False
    if p.datagrams == 0:
        p.answered = p.service.granted(data, p.ask)
    p.datagrams += 1
    p.response_bytes += len(data)
    return p.datagrams < MAX_DATAGRAMS


def run(targets: list[Target], settings: ExposureSettings) -> list[HostReport]:
    limit = RateLimit(settings.rate)
    return [probe_host(t, settings, limit) for t in targets]


def findings(reports: list[HostReport]) -> list[Finding]:
    out: list[Finding] = []
    for r in reports:
        for m in r.services:
            if not m.answered:
                continue
            s = SERVICES[m.service]
            t = r.target
            where = "its public address" if t.public else "the LAN"
            out.append(Finding(
                CHECK, Severity.CRITICAL if t.public else Severity.WARNING, f"{t.name} {t.address} {m.service}",
                f"{t.name} ({t.address}) answers {s.label} on udp/{m.port} on {where}: a {m.request_bytes}-byte "
                f"request drew {m.response_bytes} bytes, amplification factor {m.factor:g}. Anyone who can "
                "reach it can aim that traffic at a forged source address.", s.advice))
    return out


def report_json(reports: list[HostReport], found: list[Finding]) -> dict[str, Any]:
    return {"hosts": [r.as_json() for r in reports],
            "findings": [{k: f.as_json()[k] for k in ("check", "severity", "subject", "message", "advice")}
                         for f in found]}
