"""hwmon: fixture trees laid out like /sys/class/hwmon (this machine has no sensors), and the real /sys."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from yamori.config import Settings, parse_config
from yamori.config.probes import HwmonSettings
from yamori.probe import run_probe
from yamori.records import Severity, State
from yamori.system.hwmon import HwmonProbe, parse_chip, probes, read_hwmon


def add_chip(sys_root: Path, index: int, device: str, attributes: dict[str, str],
             device_attributes: dict[str, str] | None = None) -> Path:
    """hwmonN as the kernel lays it out: /sys/class/hwmon/hwmonN -> ../../devices/<dev>/hwmon/hwmonN,
    with hwmonN/device -> the parent device (where old kernels keep the attributes)."""
    parent = sys_root / "devices" / device
    real = parent / "hwmon" / f"hwmon{index}"
    real.mkdir(parents=True)
    (real / "device").symlink_to(Path("../.."))
    for name, text in attributes.items():
        (real / name).write_text(text + "\n")
    for name, text in (device_attributes or {}).items():
        (parent / name).write_text(text + "\n")
    links = sys_root / "class" / "hwmon"
    links.mkdir(parents=True, exist_ok=True)
    (links / f"hwmon{index}").symlink_to(os.path.relpath(real, links))
    return real


CORETEMP = {
    "name": "coretemp",
    "temp1_label": "Package id 0", "temp1_input": "52000", "temp1_max": "80000", "temp1_crit": "100000",
    "temp1_crit_alarm": "0",
    "temp2_label": "Core 0", "temp2_input": "49000", "temp2_max": "80000", "temp2_crit": "100000",
    "temp2_crit_alarm": "0",
}
NCT6775 = {
    "name": "nct6775",
    "fan1_input": "0",                      # CPU_FAN header with nothing plugged in: always 0
    "fan2_input": "1150", "fan2_min": "300", "fan2_alarm": "0",  # the case fan of incident 4
    "fan3_input": "820", "fan3_label": "Rear", "fan3_min": "0",
    "temp1_label": "SYSTIN", "temp1_input": "34000", "temp1_max": "0",  # max 0 = no limit set
    "temp3_label": "AUXTIN0", "temp3_input": "-128000",                 # disconnected thermistor
}
NVME = {"name": "nvme", "temp1_label": "Composite", "temp1_input": "38850", "temp1_max": "81850",
        "temp1_crit": "84850", "temp1_alarm": "0"}


@pytest.fixture
def sys_root(tmp_path: Path) -> Path:
    add_chip(tmp_path, 0, "platform/coretemp.0", CORETEMP)
    add_chip(tmp_path, 1, "platform/nct6775.656", NCT6775)
    add_chip(tmp_path, 2, "pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0", NVME)
    return tmp_path


def set_attribute(sys_root: Path, index: int, name: str, text: str) -> None:
    (sys_root / "class" / "hwmon" / f"hwmon{index}" / name).write_text(text + "\n")


def test_read_hwmon_reads_every_chip(sys_root: Path) -> None:
    coretemp, nct, nvme = read_hwmon(sys_root)
    assert (coretemp.name, coretemp.device, coretemp.path) == ("coretemp", "coretemp.0", "hwmon0")
    package = coretemp.temperatures[0]
    assert (package.sensor, package.celsius, package.max_celsius, package.crit_celsius, package.alarm) == (
        "Package id 0", 52.0, 80.0, 100.0, False)
    assert [f.fan for f in nct.fans] == ["fan1", "fan2", "Rear"]
    assert [(f.rpm, f.min_rpm) for f in nct.fans] == [(0, None), (1150, 300), (820, 0)]
    [systin] = nct.temperatures  # AUXTIN0 at -128 °C is a disconnected input: dropped with a note
    assert systin.max_celsius is None
    assert any("temp3_input" in note and "disconnected" in note for note in nct.notes)
    assert nvme.temperatures[0].crit_celsius == pytest.approx(84.85)


def test_old_kernel_attributes_under_device(tmp_path: Path) -> None:
    # Before Linux 3.x hwmonN/ held nothing but `device`; name and readings lived in the device.
    add_chip(tmp_path, 0, "platform/it87.552", {},
             {"name": "it8712", "temp1_input": "41000", "temp1_max": "70000", "fan1_input": "2100", "fan1_min": "600"})
    [chip] = read_hwmon(tmp_path)
    assert (chip.name, chip.temperatures[0].celsius) == ("it8712", 41.0)
    assert (chip.fans[0].rpm, chip.fans[0].min_rpm) == (2100, 600)


def test_two_chips_with_one_driver_get_distinct_names(tmp_path: Path) -> None:
    add_chip(tmp_path, 3, "pci0000:00/0000:01:00.0/nvme/nvme0", NVME)
    add_chip(tmp_path, 7, "pci0000:00/0000:02:00.0/nvme/nvme1", NVME)
    assert [chip.name for chip in read_hwmon(tmp_path)] == ["nvme-nvme0", "nvme-nvme1"]


def test_unreadable_attribute_is_a_note_not_a_crash(sys_root: Path) -> None:
    # Reading a directory fails with EISDIR, standing in for the EIO a sensor gives when it stops
    # answering (root can read any sysfs file, so permissions cannot simulate it here).
    broken = sys_root / "class" / "hwmon" / "hwmon0" / "temp2_input"
    broken.unlink()
    broken.mkdir()
    coretemp = read_hwmon(sys_root)[0]
    assert [t.celsius for t in coretemp.temperatures] == [52.0, None]
    assert any(note.startswith("temp2_input: Is a directory") for note in coretemp.notes)


def test_parse_chip_tolerates_garbage_and_duplicate_labels() -> None:
    chip = parse_chip("hwmon5", {
        "name": "acpitz",
        "temp1_input": "27800", "temp1_crit": "not-a-number",
        "temp2_input": "29800", "temp2_label": "zone", "temp3_input": "30000", "temp3_label": "zone",
        "temp4_input": OSError(5, "Input/output error"),
        "temp9_max": "90000",  # a limit with no reading: not a sensor
    })
    assert [(t.sensor, t.celsius) for t in chip.temperatures] == [
        ("temp1", 27.8), ("zone #2", 29.8), ("zone #3", 30.0), ("temp4", None)]
    assert chip.temperatures[0].crit_celsius is None
    assert "temp1_crit: not a number: 'not-a-number'" in chip.notes
    assert "temp4_input: Input/output error" in chip.notes


async def test_healthy_sensors_give_samples_and_no_findings(sys_root: Path) -> None:
    result = await run_probe(HwmonProbe(HwmonSettings(), sys_root))
    values = {sample.series_key(): sample.value for sample in result.samples}
    assert values['temperature_celsius{chip="coretemp",sensor="Package id 0"}'] == 52.0
    assert values['temperature_max_celsius{chip="coretemp",sensor="Core 0"}'] == 80.0
    assert values['temperature_crit_celsius{chip="nvme",sensor="Composite"}'] == pytest.approx(84.85)
    assert values['fan_rpm{chip="nct6775",fan="fan2"}'] == 1150.0
    assert values['fan_rpm{chip="nct6775",fan="fan1"}'] == 0.0
    assert {f.check for f in result.findings} == {"hwmon.unreadable"}  # only the AUXTIN0 note
    assert result.state is State.OK


async def test_fan_that_stops_between_runs_is_critical(sys_root: Path) -> None:
    probe = HwmonProbe(HwmonSettings(), sys_root)
    assert (await run_probe(probe)).state is State.OK
    set_attribute(sys_root, 1, "fan2_input", "0")  # unplugged: "it's winter"
    result = await run_probe(probe)
    assert result.state is State.CRITICAL
    [stopped] = [f for f in result.findings if f.check == "hwmon.fan_stopped"]
    assert stopped.severity is Severity.CRITICAL and stopped.subject == "nct6775/fan2"
    assert "0 RPM" in stopped.message and "1150 RPM" in stopped.message
    assert "replace it" in stopped.advice and "do not just unplug" in stopped.advice and "airflow" in stopped.advice
    set_attribute(sys_root, 1, "fan2_input", "1100")  # plugged back in
    assert (await run_probe(probe)).state is State.OK


async def test_fan_never_seen_turning_is_not_an_alarm_after_restart(sys_root: Path) -> None:
    set_attribute(sys_root, 1, "fan2_input", "0")
    # a fresh probe has never seen fan2 turn, and fan2_min is 300: under its minimum is still critical
    result = await run_probe(HwmonProbe(HwmonSettings(), sys_root))
    [finding] = [f for f in result.findings if f.check == "hwmon.fan_stopped"]
    assert "under the chip's minimum of 300 RPM" in finding.message
    assert not any(f.subject == "nct6775/fan1" for f in result.findings)  # empty header, min unset


async def test_fan_alarm_file_is_critical(sys_root: Path) -> None:
    set_attribute(sys_root, 1, "fan2_alarm", "1")
    result = await run_probe(HwmonProbe(HwmonSettings(), sys_root))
    [finding] = [f for f in result.findings if f.check == "hwmon.fan_stopped"]
    assert "fan alarm" in finding.message and "1150 RPM" in finding.message


async def test_temperature_over_crit_is_critical_with_chip_label_value_and_limit(sys_root: Path) -> None:
    set_attribute(sys_root, 0, "temp1_input", "101000")
    result = await run_probe(HwmonProbe(HwmonSettings(), sys_root))
    assert result.state is State.CRITICAL
    [hot] = [f for f in result.findings if f.check == "hwmon.overheat"]
    assert hot.subject == "coretemp/Package id 0"
    assert "coretemp" in hot.message and "Package id 0" in hot.message
    assert "101 °C" in hot.message and "critical limit of 100 °C" in hot.message
    assert "fan" in hot.advice


async def test_temperature_over_max_or_alarm_is_critical(sys_root: Path) -> None:
    set_attribute(sys_root, 2, "temp1_input", "82000")
    set_attribute(sys_root, 0, "temp2_crit_alarm", "1")
    result = await run_probe(HwmonProbe(HwmonSettings(), sys_root))
    messages = {f.subject: f.message for f in result.findings if f.check == "hwmon.overheat"}
    assert "high limit of 81.85 °C" in messages["nvme/Composite"]
    assert "raised its temperature alarm (now 49 °C)" in messages["coretemp/Core 0"]


async def test_machine_without_hwmon_reports_no_sensors(tmp_path: Path) -> None:
    result = await run_probe(HwmonProbe(HwmonSettings(), tmp_path))
    assert result.state is State.OK and result.samples == []
    assert [f.check for f in result.findings] == ["hwmon.no_sensors"]


async def test_real_sys() -> None:
    [probe] = probes(Settings())
    result = await run_probe(probe)
    assert result.state is not State.UNKNOWN, result.reason
    chips = read_hwmon(Path("/sys"))
    if any(chip.temperatures or chip.fans for chip in chips):
        assert result.samples
    else:  # this VM: no sensors, no samples, no error
        assert result.samples == [] and [f.check for f in result.findings] == ["hwmon.no_sensors"]


def test_factory_respects_settings() -> None:
    assert probes(parse_config("[probes.hwmon]\nenabled = false\n")) == []
    [probe] = probes(parse_config('[probes.hwmon]\ninterval = "10s"\n[agent]\nsys = "/nonexistent"\n'))
    assert (probe.name, probe.interval) == ("hwmon", 10.0)
