"""parse_mdstat on the operator's files and every corpus file (see corpora/mdstat/SOURCES.md),
checked against independent references: prometheus/procfs' published values, check_raid's
published verdicts, and the PyPI `mdstat` parser as a differential oracle."""

from __future__ import annotations

import csv
from pathlib import Path

import mdstat as oracle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yamori.raid.mdstat import parse_mdstat
from yamori.raid.model import MdStat, MdstatError
from yamori.raid.report import array_findings

CORPUS_DOCS = {"SOURCES.md", "expected-parse.tsv", "sysfs-block-md-attributes.tsv", "kernel-md-c-mdstat-format.txt"}

# Fragments and deliberately invalid inputs: (file, line the error must name).
MALFORMED = {
    "insights-core/MD_TEST_1.txt": 1,  # a header line alone: the 'N blocks' line is missing
    "insights-core/MD_TEST_2.txt": 1,
    "insights-core/MD_TEST_3.txt": 1,
    "insights-core/UPSTRING_TEST_1.txt": 1,  # a status line with no array above it
    "insights-core/UPSTRING_TEST_2.txt": 1,
    "insights-core/UPSTRING_TEST_3.txt": 1,
    "telegraf/mdStatFileInvalid": 3,  # "mdf1: testman actve"
}


def corpus_files(corpora: Path) -> list[Path]:
    root = corpora / "mdstat"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name not in CORPUS_DOCS)


def parse_file(path: Path) -> MdStat:
    return parse_mdstat(path.read_text(encoding="utf-8"))


def test_every_corpus_file_parses_or_is_rejected_with_its_line(corpora: Path) -> None:
    files = corpus_files(corpora)
    assert len(files) >= 50
    seen_errors = {}
    for path in files:
        name = str(path.relative_to(corpora / "mdstat"))
        try:
            parsed = parse_file(path)
        except MdstatError as err:
            seen_errors[name] = err.line
            continue
        assert name not in MALFORMED, f"{name} should have been rejected"
        for array in parsed.arrays:
            assert array.name.startswith("md") and array.blocks > 0, name
    assert seen_errors == MALFORMED


def test_kernel_format_description_is_not_mistaken_for_mdstat(corpora: Path) -> None:
    with pytest.raises(MdstatError) as caught:
        parse_file(corpora / "mdstat" / "kernel-md-c-mdstat-format.txt")
    assert caught.value.line > 1


def test_operator_incident_sequence(incidents: Path) -> None:
    healthy, failed, removed, recovering = (parse_file(incidents / f"mdstat-{n}.txt") for n in
                                            ("0-healthy", "1-member-failed", "2-member-removed", "3-recovering"))
    assert [(a.name, a.health_percent, a.degraded) for a in healthy.arrays] == [("md0", 100.0, False),
                                                                                ("md1", 100.0, False)]
    assert healthy.personalities == ("raid1",)
    md0 = failed.array("md0")
    assert md0 is not None and md0.level == "raid1" and md0.metadata == "1.0"
    assert [(m.device, m.slot, m.flags) for m in md0.members] == [("sdf1", 1, ("F",)), ("sde1", 0, ())]
    assert (md0.raid_disks, md0.working_disks, md0.slots) == (2, 1, "U_")
    assert (md0.health_percent, md0.degraded, [m.device for m in md0.failed]) == (50.0, True, ["sdf1"])
    assert md0.bitmap is not None and (md0.bitmap.pages_used, md0.bitmap.pages_total, md0.bitmap.chunk) == (0, 1,
                                                                                                            "65536KB")
    assert [a.failed for a in removed.arrays] == [(), ()]
    assert [a.missing_roles for a in removed.arrays] == [(1,), (1,)]
    md1 = recovering.array("md1")
    assert md1 is not None and md1.sync is not None
    assert (md1.sync.action, md1.sync.percent, md1.sync.speed_kib_s) == ("recovery", 0.3, 71696)
    assert (md1.sync.done_blocks, md1.sync.total_blocks, md1.sync.eta_seconds) == (3171840, 942138801, 13092)
    assert recovering.array("md0").health_percent == 100.0  # type: ignore[union-attr]


def test_procfs_reference_values(corpora: Path) -> None:
    """prometheus/procfs' own expected values for the same file (an independent reading)."""
    parsed = parse_file(corpora / "mdstat" / "prometheus-procfs" / "proc-mdstat")
    rows = (corpora / "mdstat" / "prometheus-procfs" / "expected-parse.tsv").read_text().splitlines()
    reference = list(csv.DictReader((r for r in rows if not r.startswith("#")), delimiter="\t"))
    assert len(reference) == len(parsed.arrays) == 18
    activity = {"active": None, "inactive": None, "recovering": "recovery", "resyncing": "resync",
                "checking": "check", "reshaping": "reshape"}
    for row in reference:
        array = parsed.array(row["array"])
        assert array is not None, row["array"]
        name = row["array"]
        assert array.level == (None if row["type"] == "unknown" else row["type"]), name
        assert array.active == (row["activity_state"] != "inactive"), name
        assert array.active_disks == int(row["disks_active"]) or array.container, name
        if array.active:
            assert array.total_disks == int(row["disks_total"]), name
            assert array.total_disks - array.active_disks == int(row["disks_down"]), name
        assert len(array.failed) == int(row["disks_failed"]), name
        assert len(array.spares) == int(row["disks_spare"]), name
        expected = activity[row["activity_state"]]
        sync = array.activity
        if expected is not None:
            assert sync is not None and sync.action == expected, name
        if float(row["synced_pct"]):
            assert sync is not None and sync.percent == float(row["synced_pct"]), name
            assert sync.finish_minutes == float(row["finish_min"]) and sync.speed_kib_s == int(row["speed_KiB_s"])


@pytest.mark.parametrize(("name", "worst", "subjects"), [
    # check_raid's published verdicts (SOURCES.md). Where check_raid says RESYNC/WARNING for a
    # degraded array that is rebuilding, yamori says CRITICAL: there is no redundancy until done.
    ("mdstat-centos6.2", "ok", []),
    ("mdstat-failed", "critical", ["md0"]),
    ("mdstat-linear", "ok", []),
    ("mdstat-raid0", "ok", []),
    ("mdstat-none", "ok", []),
    ("mdstat-resync", "info", []),
    ("pr28_0", "critical", ["md0"]),
    ("pr28_1", "critical", ["md1", "md0"]),
    ("pr28_2", "critical", ["md1", "md0"]),
    ("pr24", "info", []),
    ("pr77", "info", []),
    ("issue34", "ok", []),  # an inactive IMSM container is inactive by design
    ("issue34_2", "ok", []),
    ("issue43_reshape", "critical", ["md0"]),
    ("issue43_recovery", "critical", ["md0"]),
    ("issue43_mdstat-rebuilt", "critical", ["md0"]),
    ("issue43_mdstat-readd", "critical", ["md0"]),
    ("issue64", "ok", []),
    ("issue164", "warning", ["md1/sdh1"]),  # hot-spare failure: redundancy intact
    ("pr185_0", "ok", []),
    ("white-mdstat", "critical", ["md126"]),
])
def test_check_raid_verdicts(corpora: Path, name: str, worst: str, subjects: list[str]) -> None:
    parsed = parse_file(corpora / "mdstat" / "check_raid" / name)
    findings = [f for a in parsed.arrays for f in array_findings(a)]
    ranks = ["ok", "info", "warning", "critical"]
    got = max((ranks.index(str(f.severity)) for f in findings), default=0)
    assert ranks[got] == worst
    assert [f.subject for f in findings if str(f.severity) in ("warning", "critical")] == subjects


def test_personalities_tabs_and_odd_files(corpora: Path) -> None:
    root = corpora / "mdstat"
    historic = parse_file(root / "prometheus-procfs" / "historical-only-stanzas.txt")
    waiting = [(a.name, a.waiting[0].action, a.waiting[0].status) for a in historic.arrays if a.waiting]
    assert waiting == [("md9", "resync", "delayed"), ("md11", "resync", "pending"),
                       ("md9", "resync", "delayed"), ("md11", "resync", "pending")]
    assert all(n.text.startswith("#") for n in historic.notes)
    multipath = parse_file(root / "diamond" / "mdstat_multipath").arrays[0]
    assert (multipath.level, multipath.health_percent) == ("multipath", 100.0)
    linear = parse_file(root / "diamond" / "mdstat_linear").arrays[0]
    assert (linear.level, linear.total_disks, linear.layout) == ("linear", 2, "999k rounding")
    raid10 = parse_file(root / "telegraf" / "mdStatFileFull").arrays[0]
    assert (raid10.level, raid10.chunk, raid10.raid_disks) == ("raid10", "512K", 12)
    removed = parse_file(root / "telegraf" / "mdStatFileFailedDisk").arrays[0]
    assert (removed.degraded, removed.failed, removed.missing_roles) == (True, (), (3,))
    odd = parse_file(root / "insights-core" / "MDSTAT_TEST_2.txt")
    assert odd.array("md2").degraded  # type: ignore[union-attr]  # [2/2] [U_]: the worse reading wins
    assert [n.line for n in odd.notes] == [6, 9]
    slash = parse_file(root / "insights-core" / "MDSTAT_TEST_1.txt").arrays[0]
    assert "cciss/c0d0p1" in [m.device for m in slash.members]
    readonly = parse_file(root / "prometheus-procfs" / "proc-mdstat")
    assert readonly.array("md101").state == "read-only"  # type: ignore[union-attr]
    assert readonly.array("md11").state == "auto-read-only"  # type: ignore[union-attr]
    inactive = readonly.array("md4")
    assert inactive is not None and inactive.state == "inactive" and inactive.health_percent == 0.0
    assert [f.check for f in array_findings(inactive)] == ["raid.inactive", "raid.failed_member"]
    assert parse_file(root / "check_raid" / "mdstat-failed").unused == ()


@pytest.mark.parametrize(("text", "line", "words"), [
    ("Personalities : [raid1]\nmd0 : active raid1 sde1[0] sdf", 2, "member 'sdf'"),
    ("Personalities : [raid1]\nmd0 : active raid1 sde1[0] sdf1[1]\n", 2, "blocks"),
    ("Personalities : [raid1]\nmd0 : active raid1 sde1[0]\n      1060244 blocks super 1.0 [2/1] [U", 3, "[n/m]"),
    ("Personalities : [raid1]\nmd0 : actve raid1 sde1[0]\n", 2, "active|inactive"),
    ("Personalities : [raid1]\nmd0 : active raid1 sde1[0]\n      garbage here\n", 3, "blocks"),
    ("Personalities : raid1\n", 1, "Personalities"),
    ("      1060244 blocks [2/2] [UU]\n", 1, "outside any array"),
])
def test_malformed_text_names_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(MdstatError) as caught:
        parse_mdstat(text)
    assert caught.value.line == line
    assert words in str(caught.value)


def test_harmless_unknown_lines_become_notes() -> None:
    text = ("# cat /proc/mdstat\nPersonalities : [raid1] \nmd0 : active raid1 sda1[0] sdb1[1](W) sdc1[2](J)\n"
            "      100 blocks super 1.2 [2/2] [UU]\n      some future kernel line\n"
            "      bitmap: 1/1 pages [4KB], 65536KB chunk, file: /var/md0.bitmap\n\nunused devices: sdz1 <none>\n")
    parsed = parse_mdstat(text)
    assert [(n.line, n.text) for n in parsed.notes] == [(1, "# cat /proc/mdstat"), (5, "some future kernel line")]
    array = parsed.arrays[0]
    assert [m.flags for m in array.members] == [(), ("W",), ("J",)]
    assert array.total_disks == 2 and array.bitmap is not None and array.bitmap.file == "/var/md0.bitmap"
    assert parsed.unused == ("sdz1",)


def _oracle_files(incidents: Path, corpora: Path) -> list[Path]:
    return sorted(incidents.glob("mdstat-*.txt")) + corpus_files(corpora)


def test_differential_against_pypi_mdstat(incidents: Path, corpora: Path) -> None:
    """Where the PyPI `mdstat` parser can read a file, both must agree on every common field."""
    compared = 0
    for path in _oracle_files(incidents, corpora):
        lines = [line.rstrip("\r\n") for line in path.read_text().splitlines()]
        try:
            reference = oracle.parse_lines(list(lines))
        except Exception:  # the oracle is strict about layout; it covers what it can
            continue
        try:
            ours = parse_mdstat(path.read_text())
        except MdstatError:
            pytest.fail(f"{path}: the oracle parsed it, we rejected it")
        assert list(ours.personalities) == reference["personalities"], path
        assert {a.name for a in ours.arrays} == set(reference["devices"]), path
        for array in ours.arrays:
            _compare(path, array, reference["devices"][array.name])
        compared += 1
    assert compared >= 30


def _compare(path: Path, array, device: dict) -> None:  # type: ignore[no-untyped-def, type-arg]
    where = f"{path}:{array.name}"
    assert array.active == device["active"], where
    assert array.level == device["personality"], where
    assert (array.read_only is not None) == device["read_only"], where
    disks = {m.device: m for m in array.members}
    for name, disk in device["disks"].items():
        member = disks[name]
        assert (member.failed, member.spare, "W" in member.flags, "R" in member.flags) == (
            disk["faulty"], disk["spare"], disk["write_mostly"], disk["replacement"]), where
    status = device["status"]
    assert array.blocks == status["blocks"], where
    if "raid_disks" in status:
        assert (array.raid_disks, array.working_disks) == (status["raid_disks"], status["non_degraded_disks"]), where
        assert [c == "U" for c in array.slots] == status["synced"], where
    resync = device["resync"]
    if resync and "progress" in resync:
        assert array.sync is not None and f"{array.sync.percent}%" == resync["progress"], where
        assert f"{array.sync.speed_kib_s}K/sec" == resync["speed"], where
    if device["bitmap"]:
        assert array.bitmap is not None and array.bitmap.pages_total == device["bitmap"]["total_pages"], where


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="md0123 :[]()FSUW_/=.%\n\tabcdefghiklnoprstuvy<>", max_size=200))
def test_any_text_parses_or_raises_mdstat_error(text: str) -> None:
    try:
        parse_mdstat(text)
    except MdstatError as err:
        assert err.line >= 1
