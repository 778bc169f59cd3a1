"""Turn two readings of kernel counters into rates and percentages (pure: no I/O, no clock).

Counters are plain mappings (field name -> value), as psutil's named tuples give them with
`_asdict()`, so fixture tests can write them by hand.
"""

from __future__ import annotations

from collections.abc import Mapping

Counters = Mapping[str, float]

# Linux counts guest time inside user/nice too; adding it again would inflate the total
# (psutil's own cpu_percent subtracts it the same way).
_GUEST_FIELDS = ("guest", "guest_nice")


def rate(previous: float, current: float, seconds: float) -> float | None:
    """Per-second change; None when no time passed or the counter went back (reset, device re-created)."""
    if seconds <= 0 or current < previous:
        return None
    return (current - previous) / seconds


def cpu_percentages(previous: Counters, current: Counters) -> dict[str, float] | None:
    """cpu_percent (busy), cpu_iowait_percent, cpu_steal_percent between two cpu_times readings."""
    total = _cpu_total(current) - _cpu_total(previous)
    if total <= 0:
        return None

    def share(field: str) -> float:
        # The kernel's idle/iowait counters can step back slightly on some kernels: clamp at 0.
        return max(0.0, current.get(field, 0.0) - previous.get(field, 0.0)) / total * 100.0

    idle, iowait = share("idle"), share("iowait")
    return {
        "cpu_percent": min(100.0, max(0.0, 100.0 - idle - iowait)),
        "cpu_iowait_percent": min(100.0, iowait),
        "cpu_steal_percent": min(100.0, share("steal")),
    }


def _cpu_total(times: Counters) -> float:
    return sum(times.values()) - sum(times.get(field, 0.0) for field in _GUEST_FIELDS)


def disk_rates(previous: Counters, current: Counters, seconds: float) -> dict[str, float]:
    """Throughput, IOPS, %util and await for one block device (psutil disk_io_counters fields)."""
    result: dict[str, float] = {}
    for metric, field in (("disk_read_bytes_per_second", "read_bytes"),
                          ("disk_write_bytes_per_second", "write_bytes")):
        value = rate(previous[field], current[field], seconds)
        if value is not None:
            result[metric] = value
    ios = _delta(previous, current, "read_count") + _delta(previous, current, "write_count")
    busy_ms = _delta(previous, current, "busy_time")
    wait_ms = _delta(previous, current, "read_time") + _delta(previous, current, "write_time")
    if seconds <= 0 or ios < 0 or busy_ms < 0 or wait_ms < 0:
        return result
    result["disk_iops"] = ios / seconds
    result["disk_util_percent"] = min(100.0, busy_ms / (seconds * 1000.0) * 100.0)
    # iostat's await: time all completed requests spent queued and served, per request.
    result["disk_await_ms"] = wait_ms / ios if ios else 0.0
    return result


def net_rates(previous: Counters, current: Counters, seconds: float) -> dict[str, float]:
    """Bytes, packets, errors and drops per second for one interface (psutil net_io_counters fields)."""
    pairs = {
        "net_rx_bytes_per_second": ("bytes_recv",),
        "net_tx_bytes_per_second": ("bytes_sent",),
        "net_rx_packets_per_second": ("packets_recv",),
        "net_tx_packets_per_second": ("packets_sent",),
        "net_errors_per_second": ("errin", "errout"),
        "net_drops_per_second": ("dropin", "dropout"),
    }
    result: dict[str, float] = {}
    for metric, fields in pairs.items():
        value = rate(sum(previous[f] for f in fields), sum(current[f] for f in fields), seconds)
        if value is not None:
            result[metric] = value
    return result


def _delta(previous: Counters, current: Counters, field: str) -> float:
    return current.get(field, 0.0) - previous.get(field, 0.0)
