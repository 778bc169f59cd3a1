"""mdadm --detail / --detail --export parsers on the operator's outputs and the corpus
(corpora/mdadm-detail/SOURCES.md); --examine and --detail-platform outputs are rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

from yamori.raid.mdadm import MdadmError, parse_mdadm_detail, parse_mdadm_export

DOCS = {"SOURCES.md", "mdadm-4.2-Detail-c-vocabulary.txt"}
# jc names two real `--detail` captures "examine"; they are parsed, not rejected.
DETAIL_NAMED_EXAMINE = {"mdadm-examine-raid1-checking.out", "mdadm-examine-raid1-resync.out"}


def corpus(corpora: Path) -> list[Path]:
    return sorted(p for p in (corpora / "mdadm-detail").rglob("*") if p.is_file() and p.name not in DOCS)


def is_examine(path: Path) -> bool:
    text = path.read_text()
    return "Magic :" in text and path.name not in DETAIL_NAMED_EXAMINE


def test_every_corpus_file(corpora: Path) -> None:
    files = corpus(corpora)
    assert len(files) >= 60
    parsed = rejected = 0
    for path in files:
        text = path.read_text()
        if is_examine(path) or "Platform :" in text:
            with pytest.raises(MdadmError) as caught:
                parse_mdadm_detail(text)
            assert caught.value.line in (1, 2), path
            rejected += 1
            continue
        report = parse_mdadm_detail(text)
        for detail in report.details:
            assert detail.device.startswith("/dev/md"), path
            for device in detail.devices:
                assert device.state or device.raid_device is None, path
        parsed += 1
    assert parsed >= 35 and rejected >= 20


def test_operator_md1_recovering(incidents: Path) -> None:
    (detail,) = parse_mdadm_detail((incidents / "mdadm-detail-md1-recovering.txt").read_text()).details
    assert detail.device == "/dev/md1" and detail.level == "raid1"
    assert detail.state == ("active", "degraded", "recovering") and detail.degraded
    assert (detail.raid_devices, detail.active_devices, detail.spare_devices, detail.failed_devices) == (2, 1, 1, 0)
    assert detail.sync == ("rebuild", 0.0)
    assert detail.uuid == "e1c4e9e4:ed5a8be1:2e5318e8:3fc28250" and detail.events == "1335745"
    assert detail.name == "localhost.localdomain:1"
    rows = [(d.number, d.major, d.minor, d.raid_device, d.state, d.device) for d in detail.devices]
    assert rows == [(0, 8, 67, 0, ("active", "sync"), "/dev/sde3"),
                    (2, 8, 83, 1, ("spare", "rebuilding"), "/dev/sdf3")]


def test_operator_md0_after_add(incidents: Path) -> None:
    (detail,) = parse_mdadm_detail((incidents / "mdadm-detail-md0-after-add.txt").read_text()).details
    assert detail.state == ("active",) and not detail.degraded and detail.sync is None
    assert [d.device for d in detail.devices] == ["/dev/sde1", "/dev/sdf1"]


def test_faulty_removed_and_flags(corpora: Path) -> None:
    jc = corpora / "mdadm-detail" / "jc"
    (removed,) = parse_mdadm_detail((jc / "mdadm-query-raid1-faulty-and-removed.out").read_text()).details
    assert removed.degraded and removed.devices[1].removed and removed.devices[1].device is None
    assert removed.devices[1].number is None and removed.devices[1].raid_device == 1
    (flags,) = parse_mdadm_detail((jc / "mdadm-query-raid1-failed-and-flags.out").read_text()).details
    assert flags.devices[1].state == ("active", "sync", "writemostly", "failfast")
    assert flags.devices[2].faulty and flags.devices[2].raid_device is None
    (spare,) = parse_mdadm_detail((jc / "mdadm-query-raid1-spare-writem-rebuild.out").read_text()).details
    assert spare.devices[1].rebuilding and spare.sync == ("rebuild", 30.0)
    (old,) = parse_mdadm_detail((jc / "mdadm-query-raid1-ok-0-9.out").read_text()).details
    assert old.uuid == "3f720601:29af5283:96fc04a8:108a4af7" and old.events == "0.18"


def test_concatenated_outputs_and_mdadm_messages(corpora: Path) -> None:
    path = corpora / "mdadm-detail" / "insights-core" / "MDADM_D_CONTENT_MULTI_DEVICES.txt"
    report = parse_mdadm_detail(path.read_text())
    assert [d.device for d in report.details] == ["/dev/md21", "/dev/md22"]
    assert [n.line for n in report.notes] == [1, 29, 30, 57]


def test_poisoned_and_inactive(corpora: Path) -> None:
    root = corpora / "mdadm-detail"
    (poisoned,) = parse_mdadm_detail((root / "ironic-python-agent" / "MDADM_DETAIL_POISONED.txt").read_text()).details
    assert poisoned.name == "box:/dev/md0" and poisoned.events == "21/dev/md/dev/md"
    (broken,) = parse_mdadm_detail(
        (root / "ironic-python-agent" / "MDADM_DETAIL_OUTPUT_BROKEN_RAID0.txt").read_text()).details
    assert broken.state == ("inactive",)
    assert [(d.number, d.raid_device, d.state, d.device) for d in broken.devices] == [(None, None, (), "/dev/sda2")]


def test_export() -> None:
    text = ("MD_LEVEL=raid1\nMD_DEVICES=2\nMD_METADATA=1.1\nMD_UUID=e1c4e9e4:ed5a8be1:2e5318e8:3fc28250\n"
            "MD_DEVNAME=1\nMD_NAME=localhost.localdomain:1\nMD_DEVICE_dev_sde3_ROLE=0\nMD_DEVICE_dev_sde3_DEV=/dev/sde3\n"
            "MD_DEVICE_dev_sdf3_ROLE=spare\nMD_DEVICE_dev_sdf3_DEV=/dev/sdf3\n")
    export = parse_mdadm_export(text)
    assert (export.level, export.raid_devices, export.metadata) == ("raid1", 2, "1.1")
    assert export.uuid == "e1c4e9e4:ed5a8be1:2e5318e8:3fc28250" and export.name == "localhost.localdomain:1"
    assert [(m.sysdev, m.role, m.device) for m in export.members] == [("dev_sde3", "0", "/dev/sde3"),
                                                                       ("dev_sdf3", "spare", "/dev/sdf3")]
    with pytest.raises(MdadmError) as caught:
        parse_mdadm_export("MD_LEVEL=raid1\nthis is not export output\n")
    assert caught.value.line == 2
