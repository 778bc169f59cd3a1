"""What one round of probing a path measured: plain records, no I/O, easy to build in tests."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field

from .plan import Hop, Target

# how a TCP connect attempt ended
OK = "ok"
REFUSED = "refused"          # a RST came back: the SYN got there, the path passes
TIMEOUT = "timeout"          # no answer: dropped somewhere, or the far end stalls
UNREACHABLE = "unreachable"  # ICMP unreachable / no route
RESET = "reset"              # connection reset after it was set up
ERROR = "error"


@dataclass(frozen=True, slots=True)
class Icmp:
    sent: int
    received: int
    rtts_ms: tuple[float, ...] = ()
    error: str | None = None

    @property
    def loss_percent(self) -> float:
        return 100.0 * (self.sent - self.received) / self.sent if self.sent else 0.0

    @property
    def answered(self) -> bool:
        return self.received > 0

    @property
    def median_ms(self) -> float | None:
        return statistics.median(self.rtts_ms) if self.rtts_ms else None

    def as_json(self) -> dict[str, object]:
        rtts = self.rtts_ms
        rtt: dict[str, float] | None = None
        if rtts:
            avg = sum(rtts) / len(rtts)
            mdev = (sum((r - avg) ** 2 for r in rtts) / len(rtts)) ** 0.5
            rtt = {"min": round(min(rtts), 3), "avg": round(avg, 3), "max": round(max(rtts), 3),
                   "mdev": round(mdev, 3)}
        return {"sent": self.sent, "received": self.received, "loss_percent": round(self.loss_percent, 1),
                "rtt_ms": rtt}

    @staticmethod
    def merge(items: list[Icmp]) -> Icmp:
        errors = [i.error for i in items if i.error]
        return Icmp(sum(i.sent for i in items), sum(i.received for i in items),
                    tuple(r for i in items for r in i.rtts_ms), errors[-1] if errors else None)


@dataclass(frozen=True, slots=True)
class Tcp:
    """Several connect attempts to one port: each outcome, and the connect times of those that worked."""

    port: int
    outcomes: tuple[str, ...]
    connect_ms: tuple[float, ...] = ()

    @property
    def attempts(self) -> int:
        return len(self.outcomes)

    @property
    def succeeded(self) -> int:
        return self.outcomes.count(OK)

    @property
    def failed(self) -> int:
        return self.attempts - self.succeeded

    @property
    def ok(self) -> bool:
        return self.attempts > 0 and self.failed == 0

    @property
    def passes(self) -> int:
        """Attempts that show the path carries TCP to this port (connected or refused by the host)."""
        return sum(1 for o in self.outcomes if o in (OK, REFUSED))

    @property
    def error(self) -> str | None:
        bad = [o for o in self.outcomes if o != OK]
        return Counter(bad).most_common(1)[0][0] if bad else None

    def as_json(self) -> dict[str, object]:
        median = statistics.median(self.connect_ms) if self.connect_ms else None
        return {"port": self.port, "ok": self.ok, "connect_ms": None if median is None else round(median, 3),
                "error": self.error, "attempts": self.attempts, "failed": self.failed}

    @staticmethod
    def merge(items: list[Tcp]) -> Tcp:
        return Tcp(items[0].port, tuple(o for i in items for o in i.outcomes),
                   tuple(c for i in items for c in i.connect_ms))


@dataclass(frozen=True, slots=True)
class Tls:
    days_left: float | None
    chain_valid: bool | None
    name_match: bool | None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Http:
    """Requests over new connections to one http(s) target."""

    attempts: int
    succeeded: int
    status: int | None = None
    latency_ms: tuple[float, ...] = ()
    error: str | None = None
    body_ok: bool | None = None     # None: no expect_body
    redirects: int = 0
    tls: Tls | None = None

    @property
    def ok(self) -> bool:
        return self.attempts > 0 and self.succeeded == self.attempts


@dataclass(frozen=True, slots=True)
class HopResult:
    hop: Hop
    icmp: Icmp
    tcp: tuple[Tcp, ...] = ()     # the hop's declared TCP services
    trace: tuple[Tcp, ...] = ()   # connects to the hop's own address on the targets' ports


@dataclass(frozen=True, slots=True)
class TargetResult:
    target: Target
    icmp: Icmp | None
    tcp: Tcp
    http: Http | None = None
    held: bool | None = None      # an already-open connection still carried a request (None: unknown)


@dataclass(frozen=True, slots=True)
class Round:
    """One round over one path."""

    path: str
    started: float
    hops: tuple[HopResult, ...]
    targets: tuple[TargetResult, ...]
    conntrack_percent: float | None = None   # this host's own table, for the NAT inference
    notes: tuple[str, ...] = field(default=())
