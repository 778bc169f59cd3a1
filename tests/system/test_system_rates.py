"""Pure pieces of the system probe: rates, CPU shares, mount and device selection, default rules."""

from __future__ import annotations

import pytest

from yamori.config.alerts import RuleSettings
from yamori.system.metrics import DEFAULT_RULES, METRICS
from yamori.system.mounts import fs_usage, is_reported_disk, matches_any, select_mounts
from yamori.system.probe import parse_loadavg
from yamori.system.rates import cpu_percentages, disk_rates, net_rates, rate

CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal", "guest", "guest_nice")


def cpu(**values: float) -> dict[str, float]:
    return {name: values.get(name, 0.0) for name in CPU_FIELDS}


def test_rate_is_per_second_and_refuses_resets() -> None:
    assert rate(100, 400, 3.0) == 100.0
    assert rate(400, 100, 3.0) is None  # counter reset (interface re-created)
    assert rate(1, 2, 0.0) is None


def test_cpu_shares_split_busy_iowait_and_steal() -> None:
    before = cpu(user=100, system=50, idle=800, iowait=50)
    after = cpu(user=130, system=60, idle=840, iowait=60, steal=10)  # 100 ticks passed
    shares = cpu_percentages(before, after)
    assert shares == pytest.approx({"cpu_percent": 50.0, "cpu_iowait_percent": 10.0, "cpu_steal_percent": 10.0})


def test_cpu_guest_time_is_not_counted_twice() -> None:
    # the kernel counts guest time inside user already: 50 of the 100 user ticks are guest
    before = cpu()
    after = cpu(user=100, guest=50, idle=100)
    assert cpu_percentages(before, after) == pytest.approx(
        {"cpu_percent": 50.0, "cpu_iowait_percent": 0.0, "cpu_steal_percent": 0.0})


def test_cpu_without_elapsed_ticks_gives_nothing() -> None:
    assert cpu_percentages(cpu(idle=5), cpu(idle=5)) is None


def test_cpu_idle_stepping_back_is_clamped() -> None:
    shares = cpu_percentages(cpu(user=10, iowait=20, idle=100), cpu(user=30, iowait=19, idle=101))
    assert shares is not None and 0.0 <= shares["cpu_iowait_percent"] <= 100.0


DISK0 = {"read_count": 100, "write_count": 50, "read_bytes": 4096_000, "write_bytes": 1024_000,
         "read_time": 300, "write_time": 200, "busy_time": 1000}


def test_disk_rates_match_iostat_definitions() -> None:
    later = {"read_count": 300, "write_count": 250, "read_bytes": 4096_000 + 2_000_000,
             "write_bytes": 1024_000 + 8_000_000, "read_time": 300 + 1000, "write_time": 200 + 3000,
             "busy_time": 1000 + 1500}
    rates = disk_rates(DISK0, later, 2.0)
    assert rates == pytest.approx({
        "disk_read_bytes_per_second": 1_000_000.0,
        "disk_write_bytes_per_second": 4_000_000.0,
        "disk_iops": 200.0,                # 400 requests in 2 s
        "disk_util_percent": 75.0,         # busy 1.5 s of 2 s
        "disk_await_ms": 10.0,             # 4000 ms over 400 requests
    })


def test_idle_disk_has_zero_await_and_busy_is_capped() -> None:
    idle = disk_rates(DISK0, DISK0, 10.0)
    assert idle["disk_await_ms"] == 0.0 and idle["disk_iops"] == 0.0
    over = dict(DISK0, busy_time=DISK0["busy_time"] + 2500)  # kernels round io_ticks up
    assert disk_rates(DISK0, over, 2.0)["disk_util_percent"] == 100.0


def test_disk_counter_reset_gives_no_rates() -> None:
    reset = {key: 0 for key in DISK0}
    assert disk_rates(DISK0, reset, 5.0) == {}


def test_net_rates_sum_errors_and_drops_both_ways() -> None:
    before = {"bytes_recv": 0, "bytes_sent": 0, "packets_recv": 0, "packets_sent": 0,
              "errin": 0, "errout": 0, "dropin": 0, "dropout": 0}
    after = {"bytes_recv": 10_000, "bytes_sent": 5_000, "packets_recv": 100, "packets_sent": 50,
             "errin": 3, "errout": 2, "dropin": 10, "dropout": 0}
    assert net_rates(before, after, 5.0) == pytest.approx({
        "net_rx_bytes_per_second": 2000.0, "net_tx_bytes_per_second": 1000.0,
        "net_rx_packets_per_second": 20.0, "net_tx_packets_per_second": 10.0,
        "net_errors_per_second": 1.0, "net_drops_per_second": 2.0})


def test_select_mounts_skips_pseudo_and_dedupes_devices() -> None:
    rows = [
        ("/dev/sda2", "/", "ext4"),
        ("/dev/sda2", "/var/lib/docker/containers/x/hosts", "ext4"),  # bind mount of the same fs
        ("/dev/sda1", "/boot", "ext4"),
        ("tmpfs", "/run", "tmpfs"),
        ("/dev/loop3", "/snap/core/123", "squashfs"),  # always 100% full: never a finding
        ("/dev/md0", "/srv", "xfs"),
        ("none", "/x", "ext4"),
    ]
    assert [(m.device, m.mountpoint) for m in select_mounts(rows)] == [
        ("/dev/sda2", "/"), ("/dev/sda1", "/boot"), ("/dev/md0", "/srv")]


def test_fs_usage_counts_like_df() -> None:
    # 1000 blocks of 4 KiB, 300 free of which 50 are reserved for root: df shows 700/(700+250)
    usage = fs_usage(blocks=1000, bfree=300, bavail=250, frsize=4096, files=100, ffree=25)
    assert usage is not None
    assert usage.used_percent == pytest.approx(700 / 950 * 100)
    assert usage.free_bytes == 250 * 4096
    assert usage.inodes_used_percent == 75.0


def test_fs_usage_without_inodes_or_size() -> None:
    usage = fs_usage(blocks=10, bfree=5, bavail=5, frsize=512, files=0, ffree=0)  # btrfs: no inode count
    assert usage is not None and usage.inodes_used_percent is None
    assert fs_usage(blocks=0, bfree=0, bavail=0, frsize=4096, files=0, ffree=0) is None


@pytest.mark.parametrize(("name", "reported"), [
    ("sda", True), ("sda1", False), ("vdb", True), ("vdb12", False), ("xvda", True), ("xvda1", False),
    ("nvme0n1", True), ("nvme0n1p2", False), ("mmcblk0", True), ("mmcblk0p1", False),
    ("md0", True), ("dm-3", True), ("loop0", False), ("zram0", False), ("sr0", False),
])
def test_reported_disks(name: str, reported: bool) -> None:
    assert is_reported_disk(name, ["loop*", "ram*", "zram*", "fd*", "sr*"]) is reported


def test_interface_patterns() -> None:
    assert matches_any("lo", ["lo"]) and matches_any("veth12ab", ["veth*"]) and not matches_any("eth0", ["lo"])


def test_parse_loadavg() -> None:
    assert parse_loadavg("0.52 0.58 1.59 1/467 12345\n") == (0.52, 0.58, 1.59)
    with pytest.raises(ValueError, match="three load averages"):
        parse_loadavg("garbage")


def test_default_rules_are_valid_alert_rules_over_known_metrics() -> None:
    names = {rule["name"] for rule in DEFAULT_RULES}
    assert {rule["metric"] for rule in DEFAULT_RULES} == {
        "disk_used_percent", "disk_inodes_used_percent", "memory_used_percent", "swap_used_percent"}
    assert len(names) == len(DEFAULT_RULES)
    for rule in DEFAULT_RULES:
        parsed = RuleSettings.model_validate(rule)
        assert parsed.metric in METRICS and parsed.advice and parsed.above
    disk = RuleSettings.model_validate(next(r for r in DEFAULT_RULES if r["metric"] == "disk_used_percent"))
    assert (disk.warning, disk.critical) == (90.0, 95.0)
