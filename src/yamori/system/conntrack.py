"""Connection tracking table use against its limit (incident 6: a NAT router ran out of its 800
masquerade sessions at peak and reset connections; it was found only by packet capture).

Reads `<proc>/sys/net/netfilter/nf_conntrack_{count,max}` and the per-CPU statistics in
`<proc>/net/stat/nf_conntrack` (hex, one row per CPU, columns named by its header line). All
three are readable without root; `conntrack -S` would need CAP_NET_ADMIN.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..config import Settings
from ..config.probes import ConntrackSettings
from ..probe import Probe
from ..records import Finding, ParseError, ParseProblem, Record, Sample, Severity
from .metrics import unit

_COUNT = Path("sys/net/netfilter/nf_conntrack_count")
_MAX = Path("sys/net/netfilter/nf_conntrack_max")
_STAT = Path("net/stat/nf_conntrack")
# Counters summed over CPUs -> the metric each becomes. (`entries` in the same file is a global
# figure repeated on every row, not a per-CPU counter.)
STAT_METRICS = {
    "drop": "conntrack_drops_total",
    "early_drop": "conntrack_early_drops_total",
    "insert_failed": "conntrack_insert_failed_total",
}


@dataclass(frozen=True, slots=True)
class Conntrack:
    entries: int
    max: int
    stats: dict[str, int] | None = None  # counter -> sum over CPUs; None when the file is absent
    notes: tuple[str, ...] = ()

    @property
    def used_percent(self) -> float | None:
        return self.entries / self.max * 100.0 if self.max > 0 else None


class ConntrackFormatError(ParseError):
    """A conntrack file that does not look like the kernel's; names the file and line."""

    def __init__(self, source: str, message: str, line: int | None = None) -> None:
        super().__init__(ParseProblem(source, line, message))


def parse_number(text: str, source: str = "nf_conntrack_count") -> int:
    try:
        return int(text.strip())
    except ValueError:
        raise ConntrackFormatError(source, f"expected a number, got {text.strip()[:40]!r}") from None


def parse_stat(text: str, source: str = "nf_conntrack") -> dict[str, int]:
    """Sum the counters of `/proc/net/stat/nf_conntrack` over the CPU rows, by header name.

    Columns differ between kernels (5.x added `clashres`, dropped `searched`), so they are
    found by name, never by position."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise ConntrackFormatError(source, "empty file")
    header = lines[0].split()
    totals = dict.fromkeys(header, 0)
    for number, line in enumerate(lines[1:], 2):
        fields = line.split()
        if len(fields) != len(header):
            raise ConntrackFormatError(source, f"expected {len(header)} columns, got {len(fields)}", number)
        try:
            values = [int(field, 16) for field in fields]
        except ValueError:
            raise ConntrackFormatError(source, "expected hexadecimal counters", number) from None
        for name, value in zip(header, values, strict=True):
            # `entries` is the global table size repeated on each row, not a per-CPU counter
            totals[name] = max(totals[name], value) if name == "entries" else totals[name] + value
    return totals


def read_conntrack(proc_root: Path) -> Conntrack | None:
    """None when nf_conntrack is not loaded (the files do not exist)."""
    try:
        count_text = (proc_root / _COUNT).read_text()
        max_text = (proc_root / _MAX).read_text()
    except FileNotFoundError:
        return None
    entries = parse_number(count_text, str(proc_root / _COUNT))
    limit = parse_number(max_text, str(proc_root / _MAX))
    try:
        stats = parse_stat((proc_root / _STAT).read_text(), str(proc_root / _STAT))
    except FileNotFoundError:
        return Conntrack(entries, limit)
    except (OSError, ConntrackFormatError) as err:  # the statistics are extra: keep the count/max
        return Conntrack(entries, limit, None, (str(err),))
    return Conntrack(entries, limit, stats)


def is_available(proc_root: Path) -> bool:
    return (proc_root / _COUNT).is_file() and (proc_root / _MAX).is_file()


TABLE_FULL_ADVICE = (
    "When the table is full the kernel drops new connections ('nf_conntrack: table full, dropping packet' "
    "in dmesg) and clients see resets and timeouts. Raise the limit: `sysctl -w "
    "net.netfilter.nf_conntrack_max=N` and keep it in /etc/sysctl.d/. Find the top talkers with "
    "`conntrack -L | grep -o 'src=[^ ]*' | sort | uniq -c | sort -rn | head`."
)


def assess(usage: Conntrack, warning_percent: float, critical_percent: float) -> Finding | None:
    """WARNING/CRITICAL when the table is that full."""
    percent = usage.used_percent
    if percent is None or percent < warning_percent:
        return None
    severity = Severity.CRITICAL if percent >= critical_percent else Severity.WARNING
    message = (f"connection tracking table is {percent:.0f}% full ({usage.entries} of {usage.max} entries); "
               "new connections are dropped when it is full")
    return Finding("conntrack.table_full", severity, "nf_conntrack", message, TABLE_FULL_ADVICE)


def dropping(previous: Conntrack | None, current: Conntrack) -> Finding | None:
    """WARNING when the kernel dropped or evicted connections since the last run: the table was full."""
    if previous is None or previous.stats is None or current.stats is None:
        return None
    lost = sum(max(0, current.stats.get(k, 0) - previous.stats.get(k, 0)) for k in ("drop", "early_drop"))
    if lost <= 0:
        return None
    return Finding("conntrack.dropping", Severity.WARNING, "nf_conntrack",
                   f"the kernel dropped or evicted {lost} tracked connections since the last check "
                   f"(table {current.entries} of {current.max} entries)", TABLE_FULL_ADVICE)


class ConntrackProbe(Probe):
    name = "conntrack"

    def __init__(self, settings: ConntrackSettings, proc_root: Path = Path("/proc")) -> None:
        self.interval = settings.interval
        self.timeout = settings.timeout
        self._settings = settings
        self._proc = proc_root
        self._previous: Conntrack | None = None

    def collect(self) -> list[Record]:
        usage = read_conntrack(self._proc)
        if usage is None:
            raise FileNotFoundError(f"{self._proc / _COUNT} is gone: was nf_conntrack unloaded?")
        records: list[Record] = [_sample("conntrack_entries", usage.entries), _sample("conntrack_max", usage.max)]
        if usage.used_percent is not None:
            records.append(_sample("conntrack_used_percent", usage.used_percent))
        if usage.stats is not None:
            records.extend(_sample(metric, usage.stats[counter]) for counter, metric in STAT_METRICS.items()
                           if counter in usage.stats)
        if usage.notes:
            records.append(Finding("conntrack.unreadable", Severity.INFO, "nf_conntrack",
                                   "connection tracking statistics could not be used: " + "; ".join(usage.notes)))
        for finding in (assess(usage, self._settings.warning_percent, self._settings.critical_percent),
                        dropping(self._previous, usage)):
            if finding is not None:
                records.append(finding)
        self._previous = usage
        return records


def _sample(metric: str, value: float) -> Sample:
    return Sample(metric, float(value), {}, unit(metric))


def probes(settings: Settings) -> list[Probe]:
    section = settings.probes.conntrack
    if not section.enabled or not is_available(settings.agent.proc):
        return []
    return [ConntrackProbe(section, settings.agent.proc)]
