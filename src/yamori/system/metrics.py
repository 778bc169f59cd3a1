"""Every metric the host probes emit, described once: name -> unit and help text.

/metrics, the dashboard and alert texts read this table; the probes use it for units so a
name and its unit never drift apart. `DEFAULT_RULES` are the thresholds the alert rules start
from (the probes themselves only measure).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Metric:
    unit: str
    help: str


METRICS: dict[str, Metric] = {
    # system (psutil)
    "cpu_percent": Metric("percent", "CPU time spent busy (not idle, not waiting for I/O), all CPUs"),
    "cpu_iowait_percent": Metric("percent", "CPU time spent idle while waiting for disk I/O"),
    "cpu_steal_percent": Metric("percent", "CPU time the hypervisor gave to other guests"),
    "load1": Metric("", "load average over 1 minute"),
    "load5": Metric("", "load average over 5 minutes"),
    "load15": Metric("", "load average over 15 minutes"),
    "memory_used_percent": Metric("percent", "memory in use, as the share of total not available to new programs"),
    "memory_available_bytes": Metric("bytes", "memory available to new programs without swapping"),
    "memory_total_bytes": Metric("bytes", "physical memory"),
    "swap_used_percent": Metric("percent", "swap space in use"),
    "disk_used_percent": Metric("percent", "filesystem space in use (as df counts it: reserved blocks excluded)"),
    "disk_free_bytes": Metric("bytes", "filesystem space available to unprivileged users"),
    "disk_inodes_used_percent": Metric("percent", "filesystem inodes in use"),
    "disk_read_bytes_per_second": Metric("bytes/s", "bytes read from the block device"),
    "disk_write_bytes_per_second": Metric("bytes/s", "bytes written to the block device"),
    "disk_iops": Metric("ops/s", "read and write operations completed on the block device"),
    "disk_util_percent": Metric("percent", "share of time the block device was busy (iostat %util)"),
    "disk_await_ms": Metric("ms", "average time a read or write took, queueing included (iostat await)"),
    "net_rx_bytes_per_second": Metric("bytes/s", "bytes received on the interface"),
    "net_tx_bytes_per_second": Metric("bytes/s", "bytes sent on the interface"),
    "net_rx_packets_per_second": Metric("packets/s", "packets received on the interface"),
    "net_tx_packets_per_second": Metric("packets/s", "packets sent on the interface"),
    "net_errors_per_second": Metric("errors/s", "receive and transmit errors on the interface"),
    "net_drops_per_second": Metric("packets/s", "received and sent packets the interface dropped"),
    "uptime_seconds": Metric("seconds", "time since the machine booted"),
    "processes": Metric("", "number of processes"),
    # hwmon
    "temperature_celsius": Metric("celsius", "temperature a hardware sensor reports"),
    "temperature_max_celsius": Metric("celsius", "the sensor chip's own high limit for this temperature"),
    "temperature_crit_celsius": Metric("celsius", "the sensor chip's own critical limit for this temperature"),
    "fan_rpm": Metric("rpm", "fan speed"),
    # conntrack
    "conntrack_entries": Metric("", "connections in the netfilter connection tracking table"),
    "conntrack_max": Metric("", "size limit of the connection tracking table (net.netfilter.nf_conntrack_max)"),
    "conntrack_used_percent": Metric("percent", "connection tracking table use against its limit"),
    "conntrack_drops_total": Metric("", "packets dropped because a connection could not be tracked (all CPUs)"),
    "conntrack_early_drops_total": Metric("", "tracked connections evicted early to make room (all CPUs)"),
    "conntrack_insert_failed_total": Metric("", "connections that could not be inserted into the table (all CPUs)"),
}


def unit(metric: str) -> str:
    return METRICS[metric].unit


_DISK_ADVICE = (
    "Find what grew with `du -xh --max-depth=2 MOUNT | sort -h | tail` (MOUNT: the mount point named in "
    "the alert); old logs, dumps and PostgreSQL WAL kept by a stale replication slot are the usual suspects."
)

DEFAULT_RULES: list[dict[str, object]] = [
    {
        "name": "disk_full",
        "metric": "disk_used_percent",
        "warning": 90.0,
        "critical": 95.0,
        "above": True,
        "for": "5m",
        "advice": _DISK_ADVICE,
    },
    {
        "name": "disk_inodes_full",
        "metric": "disk_inodes_used_percent",
        "warning": 90.0,
        "critical": 95.0,
        "above": True,
        "for": "5m",
        "advice": "Many small files used up the inodes: find the directory with `find MOUNT -xdev -type f "
        "| cut -d/ -f2-3 | sort | uniq -c | sort -n | tail` (MOUNT: the mount point named in the alert); "
        "session and cache files are the usual suspects.",
    },
    {
        "name": "memory_full",
        "metric": "memory_used_percent",
        "warning": 95.0,
        "critical": None,
        "above": True,
        "for": "5m",
        "advice": "See what uses memory with `ps aux --sort=-rss | head`; check PostgreSQL's shared_buffers and "
        "work_mem against the RAM the machine has.",
    },
    {
        "name": "swap_used",
        "metric": "swap_used_percent",
        "warning": 80.0,
        "critical": None,
        "above": True,
        "for": "15m",
        "advice": "The machine is short of memory and pages to disk, which makes everything slow; see what uses "
        "memory with `ps aux --sort=-rss | head` and add RAM if the working set no longer fits.",
    },
]
