"""The raid probe on a fixture /proc root laid out like the real one, read through the same
code path as on a server (no md hardware here), and its wake-up on mdstat changes."""

from __future__ import annotations

import asyncio
import os
import shutil
import time
from pathlib import Path

import pytest

from yamori.config import parse_config
from yamori.probe import run_probe
from yamori.raid.probe import RaidProbe, probes, read_mdstat
from yamori.raid.watch import on_procfs, watch_mdstat
from yamori.records import Finding, Sample, State


def proc_root(tmp_path: Path, source: Path) -> Path:
    root = tmp_path / "proc"
    root.mkdir(exist_ok=True)
    swap(root / "mdstat", source)
    return root


def swap(target: Path, source: Path) -> None:
    temp = target.with_name(target.name + ".new")
    shutil.copyfile(source, temp)
    os.replace(temp, target)


def by_metric(records: list, metric: str) -> dict[str, float]:  # type: ignore[type-arg]
    return {r.labels["array"]: r.value for r in records if isinstance(r, Sample) and r.metric == metric}


def test_healthy_then_failed_then_removed(tmp_path: Path, incidents: Path) -> None:
    root = proc_root(tmp_path, incidents / "mdstat-0-healthy.txt")
    probe = RaidProbe(root, tmp_path / "dev", use_mdadm=True)  # no /dev/md0 in the fixture: mdadm skipped
    healthy = list(probe.collect())
    assert by_metric(healthy, "raid_health_percent") == {"md0": 100.0, "md1": 100.0}
    assert not [r for r in healthy if isinstance(r, Finding)]

    swap(root / "mdstat", incidents / "mdstat-1-member-failed.txt")
    failed = list(probe.collect())
    assert by_metric(failed, "raid_health_percent") == {"md0": 50.0, "md1": 50.0}
    assert by_metric(failed, "raid_degraded") == {"md0": 1.0, "md1": 1.0}
    assert by_metric(failed, "raid_active_disks") == {"md0": 1.0, "md1": 1.0}
    assert by_metric(failed, "raid_disks") == {"md0": 2.0, "md1": 2.0}
    degraded = {f.subject: f for f in failed if isinstance(f, Finding) and f.check == "raid.degraded"}
    md1 = degraded["md1"]
    assert md1.severity == "critical"
    assert "md1 (raid1) is degraded [2/1] [U_]" in md1.message and "sdf3" in md1.message
    assert "smartctl -i /dev/sdf" in md1.advice and "ID_SERIAL" in md1.advice
    assert "/dev/disk/by-id/ | grep sdf" in md1.advice and "yamori raid replace md1 --failed sdf" in md1.advice

    swap(root / "mdstat", incidents / "mdstat-2-member-removed.txt")
    removed = [f for f in probe.collect() if isinstance(f, Finding)]
    # The member is gone from mdstat, but the probe remembers which one it was.
    assert {f.subject: "removed member: sdf1" in f.message for f in removed} == {"md0": True, "md1": False}
    assert "removed member: sdf3" in removed[1].message


def test_recovery_samples(tmp_path: Path, incidents: Path) -> None:
    records = list(RaidProbe(proc_root(tmp_path, incidents / "mdstat-3-recovering.txt")).collect())
    sync = [r for r in records if isinstance(r, Sample) and r.metric.startswith("raid_sync")]
    assert {(s.metric, s.labels["action"], s.value, s.unit) for s in sync} == {
        ("raid_sync_percent", "recovery", 0.3, "percent"),
        ("raid_sync_speed_kib_s", "recovery", 71696.0, "KiB/s"),
        ("raid_sync_eta_seconds", "recovery", 13092.0, "seconds"),
    }
    info = [f for f in records if isinstance(f, Finding) and f.check == "raid.sync"]
    assert [f.severity for f in info] == ["info"] and "recovery 0.3%" in info[0].message


async def test_malformed_mdstat_is_unknown_with_file_and_line(tmp_path: Path, corpora: Path) -> None:
    root = proc_root(tmp_path, corpora / "mdstat" / "telegraf" / "mdStatFileInvalid")
    result = await run_probe(RaidProbe(root))
    assert result.state == State.UNKNOWN
    assert f"{root / 'mdstat'}:3:" in result.reason


async def test_run_probe_critical(tmp_path: Path, incidents: Path) -> None:
    result = await run_probe(RaidProbe(proc_root(tmp_path, incidents / "mdstat-1-member-failed.txt")))
    assert result.state == State.CRITICAL and "md0" in result.reason


def test_factory(tmp_path: Path, incidents: Path) -> None:
    config = f'[agent]\nproc = "{tmp_path / "proc"}"\ndev = "{tmp_path / "dev"}"\n'
    assert probes(parse_config(config)) == []  # no mdstat file: no md driver, no probe
    proc_root(tmp_path, incidents / "mdstat-0-healthy.txt")
    (probe,) = probes(parse_config(config + "[probes.raid]\ninterval = \"2m\"\nmdadm = false\n"))
    assert isinstance(probe, RaidProbe) and probe.name == "raid" and probe.interval == 120.0
    assert not probe.use_mdadm
    assert probes(parse_config(config + "[probes.raid]\nenabled = false\n")) == []
    assert read_mdstat(tmp_path / "proc").arrays[1].name == "md1"


async def test_swap_to_failed_wakes_within_a_second(tmp_path: Path, incidents: Path) -> None:
    root = proc_root(tmp_path, incidents / "mdstat-0-healthy.txt")
    assert not on_procfs(root / "mdstat")
    events = RaidProbe(root).wake_events()
    assert events is not None
    woken = asyncio.Event()

    async def consume() -> None:
        async for _ in events:  # type: ignore[union-attr]
            woken.set()

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.4)
    assert not woken.is_set()  # the state found at start is not a change
    swap(root / "mdstat", incidents / "mdstat-1-member-failed.txt")
    started = time.monotonic()
    await asyncio.wait_for(woken.wait(), timeout=1.5)
    assert time.monotonic() - started < 1.0
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_watch_disabled(tmp_path: Path, incidents: Path) -> None:
    assert RaidProbe(proc_root(tmp_path, incidents / "mdstat-0-healthy.txt"), watch=False).wake_events() is None


def test_procfs_detection() -> None:
    assert on_procfs(Path("/proc/self/mounts"))
    assert not on_procfs(Path(__file__))


async def test_pollpri_path_wakes_on_a_real_proc_event(tmp_path: Path) -> None:
    """The POLLPRI path on a real proc file. This machine has no md driver, so the test uses
    /proc/<pid>/mounts, which the kernel signals the same way (POLLERR|POLLPRI after a change,
    re-armed by reading) — for a child in its own mount namespace that mounts a tmpfs."""
    if shutil.which("unshare") is None:
        pytest.fail("unshare (util-linux) is required")
    target = tmp_path / "mnt"
    target.mkdir()
    child = await asyncio.create_subprocess_exec(
        "unshare", "--mount", "--propagation", "private", "sh", "-c",
        f"echo ready; read go; mount -t tmpfs yamori-test {target}; sleep 5", stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE)
    try:
        # the shell runs inside the new namespace once it speaks (a fixed sleep lost the race under load)
        assert await asyncio.wait_for(child.stdout.readline(), timeout=30) == b"ready\n"  # type: ignore[union-attr]
        mounts = Path(f"/proc/{child.pid}/mounts")
        events = watch_mdstat(mounts).__aiter__()
        waiter = asyncio.create_task(events.__anext__())
        await asyncio.sleep(0.3)
        assert not waiter.done()
        child.stdin.write(b"go\n")  # type: ignore[union-attr]
        await child.stdin.drain()  # type: ignore[union-attr]
        await asyncio.wait_for(waiter, timeout=2.0)
        await events.aclose()  # type: ignore[attr-defined]
    finally:
        child.kill()
        await child.wait()


def test_mdadm_export_never_raises_and_says_why() -> None:
    """The real mdadm binary on a device that is no md array: no exception, and the reason is
    kept (it becomes a raid.mdadm_unavailable note), not swallowed."""
    from yamori.raid.probe import mdadm_export

    assert shutil.which("mdadm") is not None  # installed by `make test` (Debian package mdadm)
    said = mdadm_export(Path("/dev/null"))
    assert isinstance(said, str) and said.startswith("mdadm --detail --export /dev/null: ")
    assert mdadm_export(Path("/dev/md-does-not-exist")) is None
