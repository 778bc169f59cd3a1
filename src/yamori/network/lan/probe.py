"""The agent's scheduled RFC 5227 sweep: two devices answering for one declared or own address
is a standing finding until it is resolved (the alert engine alerts on the change)."""

from __future__ import annotations

from collections.abc import Iterable

from ...config import Settings
from ...probe import Probe
from ...records import Finding, Record, Sample, Severity
from .scan import NeighbourScan


class ArpSweepProbe(Probe):
    name = "net.arp"

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        lan = settings.network.lan
        self.interval = lan.probe_interval
        # count rounds of probes at 50/s per link, plus the wait
        self.timeout = 30.0 + lan.probe_wait + lan.max_addresses * lan.probe_count * 0.02

    def collect(self) -> Iterable[Record]:
        result = NeighbourScan(self.settings).run(history=False)
        records: list[Record] = list(result.findings)
        if result.problems:
            records.append(Finding("net.arp_unavailable", Severity.INFO, "ARP probes", "; ".join(result.problems),
                                   "Run the agent with CAP_NET_RAW (AmbientCapabilities=CAP_NET_RAW in the "
                                   "systemd unit) so it can send ARP probes."))
        records.append(Sample("net_lan_neighbours_seen", float(len(result.neighbours))))
        return records


def probes(settings: Settings) -> list[Probe]:
    """Scheduled only when the operator declared hosts: the sweep is about the declared LAN
    (`yamori net neighbours` probes this host's own addresses on demand either way)."""
    lan = settings.network.lan
    declared = any(h.addresses for h in settings.inventory.hosts)
    return [ArpSweepProbe(settings)] if lan.enabled and lan.probe_interval > 0 and declared else []
