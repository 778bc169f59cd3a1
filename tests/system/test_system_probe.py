"""The system probe under its /proc root: on a fixture tree (exact figures) and on this machine
(cross-checked with psutil, which reads the real /proc)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import psutil
import pytest

from yamori.config import Settings, parse_config
from yamori.config.probes import SystemSettings
from yamori.probe import run_probe
from yamori.records import Sample, Severity, State
from yamori.system.metrics import METRICS
from yamori.system.probe import SystemProbe, probes

MEMINFO = """\
MemTotal:        8000000 kB
MemFree:         1000000 kB
MemAvailable:    2000000 kB
Buffers:          100000 kB
Cached:          1500000 kB
SwapCached:            0 kB
Active:          3000000 kB
Inactive:        2000000 kB
Shmem:             10000 kB
SReclaimable:     200000 kB
SwapTotal:       1000000 kB
SwapFree:         250000 kB
"""

# Devices and interfaces are named unlike this machine's: psutil's wrap-around cache is
# keyed by name and would otherwise mix fixture and real counters.
DISKSTATS = ("   8       0 sdq {r} 0 {rs} {rt} {w} 0 {ws} {wt} 0 {busy} 0\n"
             "   8       1 sdq1 {r} 0 {rs} {rt} {w} 0 {ws} {wt} 0 {busy} 0\n")
NETDEV = """\
Inter-|   Receive                                                |  Transmit
 face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed
    lo: 5000 50 0 0 0 0 0 0 5000 50 0 0 0 0 0 0
 enx9f: {rx} {rxp} {err} 0 0 0 0 0 {tx} {txp} 0 {drop} 0 0 0 0
"""


def write_proc(root: Path, *, cpu: tuple[int, ...], disk: dict[str, int], net: dict[str, int]) -> None:
    (root / "net").mkdir(parents=True, exist_ok=True)
    (root / "self").mkdir(exist_ok=True)
    for pid in ("1", "42", "4242"):
        (root / pid).mkdir(exist_ok=True)
    (root / "stat").write_text("cpu  " + " ".join(map(str, cpu)) + "\ncpu0 " + " ".join(map(str, cpu))
                               + "\nbtime 1700000000\n")
    (root / "meminfo").write_text(MEMINFO)
    (root / "vmstat").write_text("pswpin 10\npswpout 20\n")
    (root / "loadavg").write_text("1.50 0.75 0.25 2/300 4242\n")
    (root / "filesystems").write_text("nodev\tsysfs\nnodev\ttmpfs\n\text4\n")
    (root / "self" / "mounts").write_text("/dev/sdq1 / ext4 rw 0 0\ntmpfs /run tmpfs rw 0 0\n"
                                          f"/dev/sdq1 {root} ext4 rw 0 0\n")
    (root / "diskstats").write_text(DISKSTATS.format(**disk))
    (root / "net" / "dev").write_text(NETDEV.format(**net))


def by_key(samples: list[Sample]) -> dict[str, float]:
    return {sample.series_key(): sample.value for sample in samples}


async def test_fixture_proc_tree_gives_exact_figures(tmp_path: Path) -> None:
    disk = {"r": 100, "rs": 1000, "rt": 50, "w": 200, "ws": 4000, "wt": 150, "busy": 400}
    net = {"rx": 1_000_000, "rxp": 1000, "tx": 500_000, "txp": 500, "err": 0, "drop": 0}
    write_proc(tmp_path, cpu=(100, 0, 50, 800, 50, 0, 0, 0, 0, 0), disk=disk, net=net)
    ticks = iter([1000.0, 1010.0])
    probe = SystemProbe(SystemSettings(), tmp_path, clock=lambda: 1700000000 + 3600.0, monotonic=lambda: next(ticks))

    first = await run_probe(probe)
    assert first.state is State.OK and first.findings == []
    values = by_key(first.samples)
    assert values["memory_total_bytes"] == 8_000_000 * 1024
    assert values["memory_available_bytes"] == 2_000_000 * 1024
    assert values["memory_used_percent"] == pytest.approx(75.0)
    assert values["swap_used_percent"] == pytest.approx(75.0)
    assert (values["load1"], values["load5"], values["load15"]) == (1.5, 0.75, 0.25)
    assert values["uptime_seconds"] == 3600.0
    assert values["processes"] == 3
    assert 'disk_used_percent{mount="/"}' in values  # the fixture mount table, statvfs of the real /
    assert not any(key.startswith("disk_used_percent") and "/run" in key for key in values)
    assert len([k for k in values if k.startswith("disk_used_percent")]) == 1  # bind mount deduped
    assert not any("per_second" in key or key.startswith("cpu_") for key in values)  # first run: no rates
    assert psutil.PROCFS_PATH == "/proc"  # put back after the run

    disk2 = dict(disk, r=300, rs=1000 + 20_000, rt=50 + 1000, w=400, ws=4000 + 40_000, wt=150 + 3000, busy=400 + 5000)
    net2 = dict(net, rx=2_000_000, rxp=2000, tx=600_000, txp=700, err=30, drop=5)
    write_proc(tmp_path, cpu=(160, 0, 70, 880, 90, 0, 0, 0, 0, 0), disk=disk2, net=net2)
    second = by_key((await run_probe(probe)).samples)
    assert second["cpu_percent"] == pytest.approx(40.0)  # 80 busy of 200 ticks
    assert second["cpu_iowait_percent"] == pytest.approx(20.0)
    assert second['disk_read_bytes_per_second{device="sdq"}'] == pytest.approx(20_000 * 512 / 10)
    assert second['disk_write_bytes_per_second{device="sdq"}'] == pytest.approx(40_000 * 512 / 10)
    assert second['disk_iops{device="sdq"}'] == pytest.approx(40.0)
    assert second['disk_util_percent{device="sdq"}'] == pytest.approx(50.0)
    assert second['disk_await_ms{device="sdq"}'] == pytest.approx(10.0)
    assert not any('device="sdq1"' in key for key in second)  # partitions fold into the disk
    assert second['net_rx_bytes_per_second{interface="enx9f"}'] == pytest.approx(100_000.0)
    assert second['net_tx_packets_per_second{interface="enx9f"}'] == pytest.approx(20.0)
    assert second['net_errors_per_second{interface="enx9f"}'] == pytest.approx(3.0)
    assert second['net_drops_per_second{interface="enx9f"}'] == pytest.approx(0.5)
    assert not any('interface="lo"' in key for key in second)


async def test_unreadable_parts_are_noted_not_fatal(tmp_path: Path) -> None:
    (tmp_path / "1").mkdir()
    (tmp_path / "meminfo").write_text(MEMINFO)
    (tmp_path / "vmstat").write_text("pswpin 0\npswpout 0\n")
    (tmp_path / "loadavg").write_text("nonsense\n")
    result = await run_probe(SystemProbe(SystemSettings(), tmp_path))
    assert result.state is State.OK
    assert by_key(result.samples)["memory_total_bytes"] == 8_000_000 * 1024
    [note] = result.findings
    assert note.severity is Severity.INFO and note.check == "system.unreadable"
    assert "load: expected three load averages" in note.message and "net/dev" in note.message


async def test_empty_root_is_unknown_with_the_reason(tmp_path: Path) -> None:
    result = await run_probe(SystemProbe(SystemSettings(), tmp_path))
    assert result.state is State.UNKNOWN
    assert str(tmp_path) in result.reason
    assert psutil.PROCFS_PATH == "/proc"


def test_factory_respects_settings() -> None:
    assert probes(parse_config("[probes.system]\nenabled = false\n")) == []
    [probe] = probes(parse_config('[probes.system]\ninterval = "15s"\ntimeout = "3s"\n'))
    assert (probe.name, probe.interval, probe.timeout) == ("system", 15.0, 3.0)


def meminfo_total() -> int:
    match = re.search(r"^MemTotal:\s+(\d+) kB", Path("/proc/meminfo").read_text(), re.M)
    assert match
    return int(match[1]) * 1024


def block_device_of(path: Path) -> str | None:
    """The whole disk under `path` as /proc/diskstats names it, or None (tmpfs, overlay...)."""
    st = os.stat(path)
    link = Path(f"/sys/dev/block/{os.major(st.st_dev)}:{os.minor(st.st_dev)}")
    if not link.exists():
        return None
    resolved = link.resolve()
    return resolved.parent.name if (resolved / "partition").exists() else resolved.name


async def test_real_machine_values_are_sane(tmp_path: Path) -> None:
    # one "second" between the runs on the probe's clock, so the write rate is the bytes written
    ticks = iter([100.0, 101.0])
    probe = SystemProbe(Settings().probes.system, monotonic=lambda: next(ticks))
    first = await run_probe(probe)
    assert first.state is State.OK, first.reason
    device = block_device_of(tmp_path)
    payload = os.urandom(1 << 20)
    with open(tmp_path / "blob", "wb") as file:  # 8 MiB that must reach the disk before the next run
        for _ in range(8):
            file.write(payload)
        file.flush()
        os.fsync(file.fileno())
    second = await run_probe(probe)
    assert second.state is State.OK, second.reason
    values = by_key(second.samples)

    assert values["memory_total_bytes"] == meminfo_total()
    assert 0 < values["memory_used_percent"] < 100
    assert 0 <= values["cpu_percent"] <= 100
    assert values["processes"] >= 2
    assert 0 < values["uptime_seconds"] < float(Path("/proc/uptime").read_text().split()[0]) + 5
    root = os.statvfs("/")
    root_used = (root.f_blocks - root.f_bfree) / (root.f_blocks - root.f_bfree + root.f_bavail) * 100
    assert values['disk_used_percent{mount="/"}'] == pytest.approx(root_used, abs=1.0)
    assert all(sample.metric in METRICS and sample.unit == METRICS[sample.metric].unit for sample in second.samples)
    if device is None:
        pytest.skip(f"{tmp_path} is not on a block device this kernel counts in /proc/diskstats")
    assert values[f'disk_write_bytes_per_second{{device="{device}"}}'] >= 8 << 20


async def test_real_machine_collect_has_no_findings() -> None:
    result = await run_probe(probes(Settings())[0])
    assert result.findings == [], [f.message for f in result.findings]
