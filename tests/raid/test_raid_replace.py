"""Incident 3: the guided disk replacement, planned from the operator's mdstat files and a
fixture /sys + /dev tree laid out like the real ones (no disks to sacrifice here: apply runs
with a recording runner, never mdadm or sfdisk)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from yamori.cli import cli
from yamori.raid.blank import read_signatures
from yamori.raid.disks import read_disk
from yamori.raid.mdstat import parse_mdstat
from yamori.raid.replace import ReplaceError, plan_from_roots
from yamori.raid.replace_apply import ApplyError, apply, follow_rebuild, fresh_identity

SECTORS_1TB = 1953525168
DISKS = {  # name: (vendor, model, serial source, serial, sectors, by-id link)
    "sde": ("ATA", "ST1000DM003-1CH1", "vpd", "Z1D5ABCD", SECTORS_1TB, "ata-ST1000DM003-1CH162_Z1D5ABCD"),
    "sdf": ("ATA", "WDC WD10EZEX-00B", "by-id", "WD-WCC3F7654321", SECTORS_1TB,
            "ata-WDC_WD10EZEX-00BN5A0_WD-WCC3F7654321"),
    "sdg": ("ATA", "WDC WD10EZEX-08W", "serial", "WD-WCC6Y0123456", SECTORS_1TB + 8,
            "ata-WDC_WD10EZEX-08WN4A0_WD-WCC6Y0123456"),
}


def make_disk(sys_root: Path, dev_root: Path, name: str, partitions: int) -> None:
    vendor, model, source, serial, sectors, link = DISKS[name]
    block = sys_root / "block" / name
    (block / "device").mkdir(parents=True)
    (block / "size").write_text(f"{sectors}\n")
    (block / "device" / "vendor").write_text(f"{vendor}     \n")
    (block / "device" / "model").write_text(f"{model}\n")
    if source == "serial":
        (block / "device" / "serial").write_text(f"{serial}\n")
    elif source == "vpd":  # SCSI VPD page 0x80 as libata exposes it
        (block / "device" / "vpd_pg80").write_bytes(bytes([0, 0x80, 0, len(serial)]) + serial.encode())
    for number in range(1, partitions + 1):
        (block / f"{name}{number}").mkdir()
        (block / f"{name}{number}" / "partition").write_text(f"{number}\n")
    by_id = dev_root / "disk" / "by-id"
    by_id.mkdir(parents=True, exist_ok=True)
    with open(dev_root / name, "wb") as image:  # the device node: a blank disk image wipefs reads for real
        image.truncate(2 * 2**20)
    (by_id / link).symlink_to(f"../../{name}")
    (by_id / f"{link}-part1").symlink_to(f"../../{name}1")


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    sys_root, dev_root = tmp_path / "sys", tmp_path / "dev"
    make_disk(sys_root, dev_root, "sde", 3)
    make_disk(sys_root, dev_root, "sdf", 3)
    make_disk(sys_root, dev_root, "sdg", 0)
    return sys_root, dev_root


def mdstat_of(incidents: Path, name: str):  # type: ignore[no-untyped-def]
    return parse_mdstat((incidents / f"mdstat-{name}.txt").read_text())


def test_disk_identity_from_each_source(roots: tuple[Path, Path]) -> None:
    sys_root, dev_root = roots
    sde, sdf, sdg = (read_disk(sys_root, dev_root, n) for n in ("sde", "sdf", "sdg"))
    assert (sde.serial, sdf.serial, sdg.serial) == ("Z1D5ABCD", "WD-WCC3F7654321", "WD-WCC6Y0123456")
    assert sde.partitions == ("sde1", "sde2", "sde3") and sde.size_bytes == 1000204886016
    assert sdf.by_id == ("ata-WDC_WD10EZEX-00BN5A0_WD-WCC3F7654321",)
    assert sde.label() == "/dev/sde (ATA ST1000DM003-1CH1, serial Z1D5ABCD)"
    assert not read_disk(sys_root, dev_root, "sdz").present


def test_plan_for_the_operators_failure(roots: tuple[Path, Path], incidents: Path) -> None:
    sys_root, dev_root = roots
    plan = plan_from_roots(mdstat_of(incidents, "1-member-failed"), "md1", "sdf", "sdg", sys_root, dev_root)
    assert [(p.array, p.survivor, p.failed, p.failed_flagged, p.new) for p in plan.pairings] == [
        ("md0", "sde1", "sdf1", True, "sdg1"), ("md1", "sde3", "sdf3", True, "sdg3")]
    commands = [s.command for s in plan.steps if s.command]
    assert commands == [
        "smartctl -i /dev/sdf", "smartctl -i /dev/sde",
        "mdadm --manage /dev/md0 --remove /dev/sdf1", "mdadm --manage /dev/md1 --remove /dev/sdf3",
        "sfdisk -d /dev/sde | sfdisk /dev/sdg", "partx --update /dev/sdg",
        "mdadm --manage /dev/md0 --add /dev/sdg1", "mdadm --manage /dev/md1 --add /dev/sdg3",
        "grub-install /dev/sde", "grub-install /dev/sdg", "yamori raid status",
    ]
    for step in plan.steps:
        if step.destructive:  # every destructive step names its drive by serial, and carries it
            assert step.serial is not None and step.serial in step.title, step.title
    swap = next(s for s in plan.steps if s.manual)
    assert "WD-WCC3F7654321" in swap.title and "Z1D5ABCD" in swap.title
    assert any("sde2 is in no md array" in w and "mkswap /dev/sdg2" in w for w in plan.warnings)
    assert json.loads(json.dumps(plan.as_json()))["failed"]["serial"] == "WD-WCC3F7654321"


def test_plan_after_removal_without_new_disk(roots: tuple[Path, Path], incidents: Path) -> None:
    sys_root, dev_root = roots
    plan = plan_from_roots(mdstat_of(incidents, "2-member-removed"), "md0", "sdf", None, sys_root, dev_root)
    # sdf's partitions are gone from mdstat; the arrays are found through their twins on sde.
    assert [(p.array, p.survivor, p.failed) for p in plan.pairings] == [("md0", "sde1", None), ("md1", "sde3", None)]
    assert not [s for s in plan.steps if s.destructive]
    assert "--new DISK" in plan.steps[-1].title


def test_member_still_in_sync_is_failed_first(roots: tuple[Path, Path], incidents: Path) -> None:
    """Only md1 noticed the dying drive; md0's partition on it must be failed before removal."""
    sys_root, dev_root = roots
    text = (incidents / "mdstat-1-member-failed.txt").read_text()
    text = text.replace("md0 : active raid1 sdf1[1](F) sde1[0]", "md0 : active raid1 sdf1[1] sde1[0]")
    text = text.replace("1060244 blocks super 1.0 [2/1] [U_]", "1060244 blocks super 1.0 [2/2] [UU]")
    plan = plan_from_roots(parse_mdstat(text), "md1", "sdf", "sdg", sys_root, dev_root)
    commands = [s.command for s in plan.steps if s.command and "mdadm" in s.command and "sdf" in s.command]
    assert commands == ["mdadm --manage /dev/md0 --fail /dev/sdf1", "mdadm --manage /dev/md0 --remove /dev/sdf1",
                        "mdadm --manage /dev/md1 --remove /dev/sdf3"]


@pytest.mark.parametrize(("array", "new", "words"), [
    ("md9", "sdg", "no array md9"),
    ("md1", "sde", "is the surviving disk"),
    ("md1", "sdz", "not present"),
])
def test_refusals(roots: tuple[Path, Path], incidents: Path, array: str, new: str, words: str) -> None:
    sys_root, dev_root = roots
    with pytest.raises(ReplaceError, match=words):
        plan_from_roots(mdstat_of(incidents, "1-member-failed"), array, "sdf", new, sys_root, dev_root)


def test_refuses_healthy_array_and_small_disk(roots: tuple[Path, Path], incidents: Path) -> None:
    sys_root, dev_root = roots
    with pytest.raises(ReplaceError, match="not degraded"):
        plan_from_roots(mdstat_of(incidents, "0-healthy"), "md1", "sdz", None, sys_root, dev_root)
    with pytest.raises(ReplaceError, match="failed member is sdf3, not on sdz"):
        plan_from_roots(mdstat_of(incidents, "1-member-failed"), "md1", "sdz", None, sys_root, dev_root)
    # A drive still in sync but known to be dying may be replaced proactively: failed first.
    proactive = plan_from_roots(mdstat_of(incidents, "0-healthy"), "md1", "sdf", None, sys_root, dev_root)
    assert [s.command for s in proactive.steps if s.destructive][:2] == ["mdadm --manage /dev/md0 --fail /dev/sdf1",
                                                                         "mdadm --manage /dev/md0 --remove /dev/sdf1"]
    (sys_root / "block" / "sdg" / "size").write_text("1000\n")
    with pytest.raises(ReplaceError, match="smaller than the survivor"):
        plan_from_roots(mdstat_of(incidents, "1-member-failed"), "md1", "sdf", "sdg", sys_root, dev_root)


def test_apply_verifies_serials_before_anything_runs(roots: tuple[Path, Path], incidents: Path) -> None:
    sys_root, dev_root = roots
    plan = plan_from_roots(mdstat_of(incidents, "1-member-failed"), "md1", "sdf", "sdg", sys_root, dev_root)
    (sys_root / "block" / "sdg" / "device" / "serial").write_text("SOMEONE-ELSES-DISK\n")  # drives moved
    ran: list[tuple[str, ...]] = []
    with pytest.raises(ApplyError, match="serial SOMEONE-ELSES-DISK, the plan expects WD-WCC6Y0123456"):
        apply(plan, sys_root, dev_root, lambda argv, stdin: ran.append(tuple(argv)) or "", lambda _: None)
    assert ran == []


def test_apply_runs_the_steps_in_order(roots: tuple[Path, Path], incidents: Path) -> None:
    sys_root, dev_root = roots
    plan = plan_from_roots(mdstat_of(incidents, "1-member-failed"), "md1", "sdf", "sdg", sys_root, dev_root)
    ran: list[tuple[tuple[str, ...], str | None]] = []
    dump = ("label: dos\nlabel-id: 0x000b174e\ndevice: /dev/sde\nunit: sectors\n\n"
            "/dev/sde1 : start=63, size=2120517, type=fd, bootable\n")

    def runner(argv, stdin):  # type: ignore[no-untyped-def]
        ran.append((tuple(argv), stdin))
        return dump if argv[:2] == ("sfdisk", "-d") else ""

    followed: list[bool] = []
    done = apply(plan, sys_root, dev_root, runner, lambda _: None, lambda: followed.append(True))
    assert [" ".join(a) for a, _ in ran][:4] == ["mdadm --manage /dev/md0 --remove /dev/sdf1",
                                                 "mdadm --manage /dev/md1 --remove /dev/sdf3",
                                                 "sfdisk -d /dev/sde", "sfdisk /dev/sdg"]
    assert ran[3][1] == "label: dos\nunit: sectors\n\n/dev/sde1 : start=63, size=2120517, type=fd, bootable\n"
    assert followed == [True] and done[-1].follow


def test_fresh_identity_drops_gpt_ids() -> None:
    dump = ("label: gpt\nlabel-id: 1D5A6C4E-0B1A-4C49-9D5C-1F2E3D4C5B6A\ndevice: /dev/sde\nunit: sectors\n"
            "first-lba: 34\nlast-lba: 1953525134\n\n/dev/sde1 : start=2048, size=2097152, "
            "type=A19D880F-05FC-4D3B-A006-743F0F84911E, uuid=0E3B5C1A-9F7D-4B2E-8C1D-2A3B4C5D6E7F, name=\"boot\"\n")
    assert fresh_identity(dump) == ("label: gpt\nunit: sectors\nfirst-lba: 34\n\n/dev/sde1 : start=2048, "
                                    "size=2097152, type=A19D880F-05FC-4D3B-A006-743F0F84911E, name=\"boot\"\n")


def test_follow_rebuild_reports_eta_until_whole(incidents: Path) -> None:
    states = iter([mdstat_of(incidents, "3-recovering"), mdstat_of(incidents, "0-healthy")])
    lines: list[str] = []
    assert follow_rebuild(lambda: next(states), ["md0", "md1"], lines.append, sleep=lambda _: None)
    assert lines[0] == "md1: recovery 0.3% at 71696 KiB/s, about 3h38m left"
    assert lines[1].startswith("rebuild finished")


def test_cli_dry_run_and_json(roots: tuple[Path, Path], incidents: Path, tmp_path: Path) -> None:
    sys_root, dev_root = roots
    config = tmp_path / "yamori.toml"
    config.write_text(f'[agent]\nsys = "{sys_root}"\ndev = "{dev_root}"\nproc = "{tmp_path / "proc"}"\n')
    mdstat = str(incidents / "mdstat-1-member-failed.txt")
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(config), "raid", "replace", "md1", "--failed", "sdf", "--new", "sdg",
                                 "--mdstat", mdstat])
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "dry-run" in text and "sfdisk -d /dev/sde | sfdisk /dev/sdg" in text and "Nothing was changed" in text
    result = runner.invoke(cli, ["--config", str(config), "raid", "replace", "md1", "--failed", "sdf", "--new", "sdg",
                                 "--mdstat", mdstat, "--json"])
    assert json.loads(result.stdout)["new"]["serial"] == "WD-WCC6Y0123456"
    result = runner.invoke(cli, ["--config", str(config), "raid", "replace", "md1", "--failed", "sdf", "--new", "sde",
                                 "--mdstat", mdstat])
    assert result.exit_code == 2 and "surviving disk" in result.stderr
    result = runner.invoke(cli, ["--config", str(config), "raid", "replace", "md1", "--failed", "sdf", "--new", "sdg",
                                 "--mdstat", mdstat, "--yes"])
    assert result.exit_code == 2 and "apply (--yes) only from the live" in result.stderr


async def test_rebuild_followed_to_the_end_then_mailed(roots: tuple[Path, Path], incidents: Path,
                                                       tmp_path: Path) -> None:
    """The kernel's progress, played by rewriting <proc>/mdstat between reads; read through the
    same reader as `raid status`; then one mail through a real SMTP server."""
    from tests.alerts.alerts_endpoints import Inbox, SmtpServer

    from yamori.config.alerts import AlertsSettings
    from yamori.raid.probe import read_mdstat
    from yamori.raid.rebuild_notice import send, whole_again

    sys_root, dev_root = roots
    plan = plan_from_roots(mdstat_of(incidents, "1-member-failed"), "md1", "sdf", "sdg", sys_root, dev_root)
    proc = tmp_path / "proc"
    proc.mkdir()
    recovering = (incidents / "mdstat-3-recovering.txt").read_text()
    later = recovering.replace("[>....................]  recovery =  0.3% (3171840/942138801) finish=218.2min "
                               "speed=71696K/sec", "[==========>..........]  recovery = 52.5% (494622870/942138801) "
                               "finish=98.1min speed=76012K/sec")
    states = iter([later, (incidents / "mdstat-0-healthy.txt").read_text()])
    (proc / "mdstat").write_text(recovering)
    lines: list[str] = []
    whole = follow_rebuild(lambda: read_mdstat(proc), ["md0", "md1"], lines.append,
                           sleep=lambda _: (proc / "mdstat").write_text(next(states)), max_checks=10)
    assert whole
    assert lines == ["md1: recovery 0.3% at 71696 KiB/s, about 3h38m left",
                     "md1: recovery 52.5% at 76012 KiB/s, about 1h38m left",
                     "rebuild finished: md0 UU, md1 UU"]

    inbox = Inbox()
    server = SmtpServer(inbox)
    await server.start()
    try:
        settings = AlertsSettings.model_validate({"email": {"port": server.port, "to": ["ops@example.org"]}})
        note = whole_again("db1", plan, read_mdstat(proc), started=1000.0, now=1000.0 + 3 * 3600 + 5 * 60)
        assert await send(settings, note) == []
        await inbox.wait(1)
    finally:
        await server.stop()
    mail = inbox.messages[0]
    assert "[yamori] db1 raid_replace md0, md1: RAID rebuild finished" in str(mail["Subject"])
    body = mail.get_body().get_content()  # type: ignore[union-attr]
    assert "md0 [2/2] [UU], md1 [2/2] [UU]" in body and "followed for 3h05m" in body
    assert "serial WD-WCC3F7654321" in body and "serial WD-WCC6Y0123456" in body
    assert await send(AlertsSettings(), note) == ["no notifier is configured ([alerts.email] to, or "
                                                  "[alerts.webhook] url)"]


def test_raid_status_on_something_that_is_not_mdstat(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from yamori.cli import cli

    noise = tmp_path / "noise"
    noise.write_bytes(bytes(range(256)) * 4 + b"\nhello\nworld\n")
    for text in (noise, tmp_path / "empty"):
        if not text.exists():
            text.write_text("")
        result = CliRunner().invoke(cli, ["raid", "status", "--mdstat", str(text)])
        assert result.exit_code == 2 and f"{text}:" in result.output and "not /proc/mdstat" in result.output
        assert "no md arrays" not in result.output
    empty_system = tmp_path / "mdstat"
    empty_system.write_text("Personalities : \nunused devices: <none>\n")
    result = CliRunner().invoke(cli, ["raid", "status", "--mdstat", str(empty_system)])
    assert result.exit_code == 0 and "no md arrays" in result.output


def _partition(image: Path) -> None:
    subprocess.run(["sfdisk", "-q", str(image)], input="label: gpt\n,1M\n", text=True, check=True,
                   capture_output=True)


def test_a_new_disk_that_is_not_blank_is_refused_unless_its_serial_is_named(
        roots: tuple[Path, Path], incidents: Path) -> None:
    sys_root, dev_root = roots
    mdstat = mdstat_of(incidents, "1-member-failed")
    _partition(dev_root / "sdg")  # a real GPT on the "new" disk's image
    with pytest.raises(ReplaceError, match=r"/dev/sdg .* is not blank: gpt at 0x200.*--wipe"):
        plan_from_roots(mdstat, "md1", "sdf", "sdg", sys_root, dev_root)
    serial = read_disk(sys_root, dev_root, "sdg").serial
    with pytest.raises(ReplaceError, match="does not match"):
        plan_from_roots(mdstat, "md1", "sdf", "sdg", sys_root, dev_root, wipe_serial="WRONG-SERIAL")
    plan = plan_from_roots(mdstat, "md1", "sdf", "sdg", sys_root, dev_root, wipe_serial=serial)
    wipe = next(s for s in plan.steps if s.argv and s.argv[0][0] == "wipefs")
    assert wipe.argv == (("wipefs", "--all", "/dev/sdg"),) and wipe.serial == serial and wipe.destructive
    assert plan.steps.index(wipe) < next(i for i, s in enumerate(plan.steps) if s.argv and s.argv[0][0] == "sfdisk")
    with pytest.raises(ReplaceError, match="cannot tell whether /dev/sdg is blank"):
        (dev_root / "sdg").unlink()
        plan_from_roots(mdstat, "md1", "sdf", "sdg", sys_root, dev_root)


@pytest.mark.skipif(os.geteuid() != 0 or not Path("/dev/loop-control").exists(),
                    reason="loop devices need root and /dev/loop-control")
def test_wipefs_on_a_real_loop_device(tmp_path: Path, roots: tuple[Path, Path], incidents: Path) -> None:
    image = tmp_path / "disk.img"
    with open(image, "wb") as f:
        f.truncate(16 * 2**20)
    loop = subprocess.run(["losetup", "-f", "--show", str(image)], capture_output=True, text=True, check=True)
    device = Path(loop.stdout.strip())
    try:
        assert read_signatures(device) == []  # blank
        _partition(device)
        assert {s.split()[0] for s in read_signatures(device)} == {"gpt", "PMBR"}
        subprocess.run(["wipefs", "--all", "-q", str(device)], check=True)
        subprocess.run(["mkfs.ext4", "-q", "-F", str(device)], check=True, capture_output=True)
        found = read_signatures(device)
        assert [s.split()[0] for s in found] == ["ext4"]
        # the plan, with this loop device standing in as the new disk's node
        sys_root, dev_root = roots
        with pytest.raises(ReplaceError, match="is not blank: ext4 at 0x438"):
            plan_from_roots(mdstat_of(incidents, "1-member-failed"), "md1", "sdf", "sdg", sys_root, dev_root,
                            probe=lambda _: read_signatures(device))
    finally:
        subprocess.run(["losetup", "-d", str(device)], check=False)
