"""Uplink throughput against capacity and the day's 95th percentile: a /sys tree laid out like the
kernel's (read through the [agent] sys root), and the real loopback interface."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from yamori.config.network import LinkEntry
from yamori.network.links import LinkFormatError, LinkProbe, percentile
from yamori.records import Finding, Sample, Severity


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def set_counters(root: Path, interface: str, rx: int, tx: int) -> None:
    base = root / "class/net" / interface / "statistics"
    base.mkdir(parents=True, exist_ok=True)
    (base / "rx_bytes").write_text(f"{rx}\n")
    (base / "tx_bytes").write_text(f"{tx}\n")


def samples(records: list[object], metric: str) -> list[float]:
    return [r.value for r in records if isinstance(r, Sample) and r.metric == metric]


def test_rates_p95_and_the_uplink_finding(tmp_path: Path) -> None:
    clock = Clock()
    probe = LinkProbe(LinkEntry(interface="ppp0", capacity="1Mbit", interval=60), tmp_path, clock)
    rx = tx = 0
    set_counters(tmp_path, "ppp0", rx, tx)
    assert probe.collect() == []   # the first read gives no rate
    records: list[object] = []
    for minute in range(20):
        clock.now += 60
        tx += 60 * 1_000_000 // 8 * (95 if minute % 2 else 20) // 100   # alternately 95% and 20% of 1 Mbit/s up
        rx += 60 * 10_000 // 8
        set_counters(tmp_path, "ppp0", rx, tx)
        records = probe.collect()
    assert samples(records, "net_link_tx_bits_per_second") == [950_000.0]
    assert samples(records, "net_link_rx_bits_per_second") == [10_000.0]
    assert samples(records, "net_link_p95_percent") == [95.0]
    finding = next(r for r in records if isinstance(r, Finding))
    assert finding.check == "net.uplink" and finding.severity is Severity.CRITICAL
    assert "1 Mbit/s" in finding.message
    set_counters(tmp_path, "ppp0", 0, 0)   # the interface was re-created: counters start again
    clock.now += 60
    assert probe.collect() == []


def test_broken_and_missing_files_are_named(tmp_path: Path) -> None:
    probe = LinkProbe(LinkEntry(interface="eth9", capacity=100e6), tmp_path, Clock())
    with pytest.raises(FileNotFoundError, match="interface eth9 does not exist"):
        probe.collect()
    set_counters(tmp_path, "eth9", 1, 1)
    (tmp_path / "class/net/eth9/statistics/rx_bytes").write_text("garbage\n")
    with pytest.raises(LinkFormatError, match="rx_bytes:1: expected a byte counter"):
        probe.collect()


def test_percentile_nearest_rank() -> None:
    assert percentile([]) is None
    assert percentile([5.0]) == 5.0
    assert percentile([float(i) for i in range(1, 101)]) == 95.0
    assert percentile([float(i) for i in range(1, 21)]) == 19.0


def test_loopback_traffic_is_counted_through_the_real_sys() -> None:
    reads: list[float] = []

    def clock() -> float:
        reads.append(time.monotonic())
        return reads[-1]

    probe = LinkProbe(LinkEntry(interface="lo", capacity="10Gbit"), Path("/sys"), clock)
    probe.collect()
    payload = b"x" * 65536
    with socket.create_server(("127.0.0.1", 0)) as server, socket.create_connection(server.getsockname()) as client:
        peer, _ = server.accept()
        with peer:
            for _ in range(80):    # 5 MiB over loopback
                client.sendall(payload)
                received = 0
                while received < len(payload):
                    received += len(peer.recv(len(payload) - received))
    time.sleep(0.05)
    records = probe.collect()
    rate = samples(records, "net_link_tx_bits_per_second")
    sent_bits = rate[0] * (reads[1] - reads[0])
    assert sent_bits >= 80 * 65536 * 8   # at least what this test sent (other loopback traffic adds to it)
