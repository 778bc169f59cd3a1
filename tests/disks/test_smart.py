"""SMART from real `smartctl --json` outputs; the command runner is the only thing replaced."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from yamori.config.environment import SmartSettings
from yamori.disks.smart import SmartError, assess_disk, parse_scan, parse_smartctl
from yamori.disks.smart_probe import STATE_FILE, SmartProbe
from yamori.records import Finding, Sample, Severity

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "smart"
HDD = "WDC_WD20EFRX-68EUZN0_17.json"
SSD = "SAMSUNG_MZ7WD240HAFV-00003_21.json"
NVME = "nvme-null-Samsung_SSD_970_EVO_Plus_250GB-nvme0.json"
WORN = "nvme-null-INTEL_SSDPE2KX020T7-nvme6.json"
FAILING = "nvme-null-SAMSUNG_MZWLL3T2HAJQ-00005-nvme0.json"


def _parse(name: str, device: str = "/dev/sdx"):  # type: ignore[no-untyped-def]
    return parse_smartctl((FIXTURES / name).read_text(), device)


def test_sata_hdd() -> None:
    disk = _parse(HDD)
    assert (disk.protocol, disk.model, disk.passed) == ("ATA", "WDC WD20EFRX-68EUZN0", True)
    assert (disk.reallocated, disk.pending, disk.offline_uncorrectable) == (0, 0, 0)
    assert (disk.temperature, disk.power_on_hours, disk.version) == (34.0, 47657, (7, 3))
    assert assess_disk(disk) == []
    assert disk.summary() == "PASSED, 0 reallocated, 0 pending, 0 offline uncorrectable, 34 °C, 47657 h on"


def test_sata_ssd() -> None:
    disk = _parse(SSD)
    assert (disk.reallocated, disk.pending, disk.temperature, disk.power_on_hours) == (0, None, 27.0, 84619)
    assert assess_disk(disk) == []


def test_scsi_grown_defects_count_as_reallocated() -> None:
    disk = _parse("SEAGATE_ST373453LC_26.json", "/dev/sdc")
    assert (disk.protocol, disk.model, disk.reallocated, disk.pending) == ("SCSI", "SEAGATE ST373453LC", 260, None)
    assert (disk.temperature, disk.power_on_hours, disk.passed) == (33.0, 102880, True)
    assert assess_disk(disk) == []  # a standing count is history; a rising one is the warning


def test_nvme() -> None:
    disk = _parse(NVME, "/dev/nvme0")
    assert (disk.protocol, disk.media_errors, disk.percentage_used, disk.critical_warning) == ("NVMe", 0, 0, 0)
    assert disk.reallocated is None
    assert assess_disk(disk) == []


def test_worn_nvme_is_not_yet_a_warning_at_75_percent() -> None:
    disk = _parse(WORN, "/dev/nvme6")
    assert disk.percentage_used == 75
    assert assess_disk(disk) == []


def test_failing_nvme_is_critical() -> None:
    disk = _parse(FAILING, "/dev/nvme0")
    (finding,) = assess_disk(disk)
    assert (finding.check, finding.severity, finding.subject) == ("smart.failing", Severity.CRITICAL, "/dev/nvme0")
    assert "FAILED (NVMe critical warning 0x10)" in finding.message


def test_hot_disk_and_thresholds() -> None:
    disk = _parse(HDD)
    (hot,) = assess_disk(disk, temperature_warning=30.0)
    assert (hot.check, hot.severity) == ("smart.hot", Severity.WARNING)


def test_scan() -> None:
    assert parse_scan((FIXTURES / "smartctl-7.3-scan-no-disks.json").read_text()) == []
    # the shape smartctl documents for a machine with disks (smartctl(8), --scan with --json)
    text = json.dumps({"devices": [{"name": "/dev/sda", "info_name": "/dev/sda [SAT]", "type": "sat",
                                    "protocol": "ATA"}, {"name": "; rm -rf /", "type": "x"}]})
    assert parse_scan(text) == [("/dev/sda", "sat")]


@pytest.mark.parametrize("text", ["", "Segmentation fault", "[1, 2]", "{" * 100_000, '{"smartctl": 5}'])
def test_garbage(text: str) -> None:
    try:
        disk = parse_smartctl(text, "/dev/sdz")
    except SmartError as err:
        assert str(err).startswith("/dev/sdz: ")
    else:
        assert not disk.has_data


class Runner:
    """Answers each smartctl call from a fixture file, per device; records the calls."""

    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str], timeout: float) -> tuple[int, str]:
        self.calls.append(argv)
        if "--scan" in argv:
            return 0, json.dumps({"devices": [{"name": d, "type": "auto"} for d in self.answers]})
        queue = self.answers[argv[-1]]
        text = (FIXTURES / (queue.pop(0) if len(queue) > 1 else queue[0])).read_text()
        return json.loads(text)["smartctl"].get("exit_status", 0), text


def _findings(records: list[Finding | Sample]) -> dict[tuple[str, str], Finding]:
    return {(r.subject, r.check): r for r in records if isinstance(r, Finding)}


def test_probe_rising_count_is_remembered_across_runs(tmp_path: Path) -> None:
    runner = Runner({"/dev/sdb": ["ST3500418AS_11.json", "ST3500418AS_12.json"], "/dev/nvme0": [FAILING],
                     "/dev/sdq": ["smartctl-7.3-no-such-device.json"]})
    first = SmartProbe(SmartSettings(), tmp_path, runner).collect()
    findings = _findings(first)
    assert set(findings) == {("/dev/nvme0", "smart.failing"), ("/dev/sdq", "smart.unreadable")}
    assert "Unable to detect device type" in findings[("/dev/sdq", "smart.unreadable")].message
    samples = {(s.labels["device"], s.metric): s.value for s in first if isinstance(s, Sample)}
    assert samples[("/dev/sdb", "smart_reallocated_sectors")] == 1
    assert samples[("/dev/nvme0", "smart_healthy")] == 0
    assert (tmp_path / STATE_FILE).is_file()
    assert runner.calls[1] == ["smartctl", "--json", "-a", "-n", "standby", "-d", "auto", "/dev/sdb"]

    # a new probe object (an agent restart, or the next `yamori check`) still remembers
    second = SmartProbe(SmartSettings(), tmp_path, runner).collect()
    rising = _findings(second)[("/dev/sdb", "smart.sectors_rising")]
    assert rising.severity == Severity.WARNING
    assert "reallocated sectors 1 -> 304 since the last check" in rising.message

    third = SmartProbe(SmartSettings(), tmp_path, runner).collect()
    assert ("/dev/sdb", "smart.sectors_rising") not in _findings(third)


def test_probe_survives_a_corrupt_state_file_and_a_dying_runner(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text("{not json")

    def broken(argv: list[str], timeout: float) -> tuple[int, str]:
        if "--scan" in argv:
            return 0, json.dumps({"devices": [{"name": "/dev/sda"}]})
        raise OSError(2, "No such file or directory")

    records = SmartProbe(SmartSettings(), tmp_path, broken).collect()
    findings = _findings(records)
    assert findings[("smart", "smart.state_unreadable")].severity == Severity.INFO
    assert findings[("/dev/sda", "smart.unreadable")].message == (
        "/dev/sda: cannot run smartctl: No such file or directory")
