"""[[network.links]]: an uplink's throughput against its capacity, and the 95th percentile over a
day (the operator once had 1 Mbit/s up: a saturated uplink is a latency fault on the path).

Reads `<sys>/class/net/<interface>/statistics/{rx,tx}_bytes` through the [agent] sys root; rates
are the difference between two reads. A day of rates is kept in memory for the percentile."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from ..config import Settings
from ..config.network import LinkEntry
from ..probe import Probe
from ..records import Finding, ParseError, ParseProblem, Record, Sample, Severity

DAY = 86400.0
MIN_RATES_FOR_P95 = 10   # too few rates say nothing about a day


class LinkFormatError(ParseError):
    """A statistics file that does not hold one counter; names the file."""


def parse_counter(text: str, source: str) -> int:
    value = text.strip()
    if not value.isdigit():
        raise LinkFormatError(ParseProblem(source, 1, f"expected a byte counter, got {value[:40]!r}"))
    return int(value)


def read_counters(sys_root: Path, interface: str) -> tuple[int, int]:
    """(rx_bytes, tx_bytes); FileNotFoundError when the interface does not exist (now)."""
    base = sys_root / "class/net" / interface / "statistics"
    rx, tx = base / "rx_bytes", base / "tx_bytes"
    return parse_counter(rx.read_text(), str(rx)), parse_counter(tx.read_text(), str(tx))


def percentile(values: Sequence[float], share: float = 0.95) -> float | None:
    """Nearest-rank percentile (what 95th-percentile billing uses)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def assess(entry: LinkEntry, p95_percent: float | None, count: int) -> Finding | None:
    if p95_percent is None or count < MIN_RATES_FOR_P95 or p95_percent < entry.warning_percent:
        return None
    severity = Severity.CRITICAL if p95_percent >= entry.critical_percent else Severity.WARNING
    return Finding("net.uplink", severity, f"uplink {entry.interface}",
                   f"{entry.interface} ran at {p95_percent:.0f}% of its {_rate(entry.capacity)} capacity or more "
                   f"for 5% of the last day (95th percentile of {count} readings): queues build up and every path "
                   "through it gets slower",
                   "Find what fills the link (backups, replication to another site, a client uploading) and "
                   "schedule or rate-limit it, or order more capacity; shaping on the router (fq_codel / cake) "
                   "keeps latency low while it is full.")


def _rate(bits: float) -> str:
    for unit, size in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if bits >= size:
            return f"{bits / size:g} {unit}"
    return f"{bits:g} bit/s"


class LinkProbe(Probe):
    def __init__(self, entry: LinkEntry, sys_root: Path = Path("/sys"),
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.entry = entry
        self.name = f"net.link.{entry.interface}"
        self.interval = entry.interval
        self.timeout = 10.0
        self._sys = sys_root
        self._clock = clock
        self._previous: tuple[float, int, int] | None = None
        self.rates: deque[tuple[float, float]] = deque()   # (time, busier direction's bits/s)

    def collect(self) -> list[Record]:
        now = self._clock()
        try:
            rx, tx = read_counters(self._sys, self.entry.interface)
        except FileNotFoundError:
            self._previous = None
            raise FileNotFoundError(f"interface {self.entry.interface} does not exist "
                                    f"({self._sys / 'class/net' / self.entry.interface})") from None
        previous, self._previous = self._previous, (now, rx, tx)
        if previous is None or now <= previous[0] or rx < previous[1] or tx < previous[2]:
            return []   # the first read, or the counters were reset (interface re-created)
        elapsed = now - previous[0]
        rx_bits = (rx - previous[1]) * 8 / elapsed
        tx_bits = (tx - previous[2]) * 8 / elapsed
        labels = {"interface": self.entry.interface}
        capacity = self.entry.capacity
        self.rates.append((now, max(rx_bits, tx_bits)))
        while self.rates and self.rates[0][0] < now - DAY:
            self.rates.popleft()
        p95 = percentile([r for _, r in self.rates])
        p95_percent = None if p95 is None else p95 / capacity * 100.0
        records: list[Record] = [
            Sample("net_link_rx_bits_per_second", rx_bits, labels, "bit/s"),
            Sample("net_link_tx_bits_per_second", tx_bits, labels, "bit/s"),
            Sample("net_link_used_percent", max(rx_bits, tx_bits) / capacity * 100.0, labels, "percent"),
        ]
        if p95_percent is not None:
            records.append(Sample("net_link_p95_percent", p95_percent, labels, "percent"))
        finding = assess(self.entry, p95_percent, len(self.rates))
        if finding is not None:
            records.append(finding)
        return records


def probes(settings: Settings) -> list[Probe]:
    return [LinkProbe(entry, settings.agent.sys) for entry in settings.network.links]
