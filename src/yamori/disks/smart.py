"""`smartctl --json` (smartmontools 7 or later) -> typed disk health, and health -> findings.

Pure: `parse_smartctl(text, device)` and `assess_disk(disk, previous)` do no I/O. What counts:
the drive's own overall assessment; ATA attributes 5 (reallocated sectors), 197 (current
pending) and 198 (offline uncorrectable), or a SCSI drive's grown defect list; NVMe media
errors, percentage used and the critical warning bits; temperature and power-on hours. A count
of reallocated or pending sectors that rises between two reads is the warning that comes before
a failure, so the caller passes the previous read (the probe keeps it in its state dir).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any

from ..records import Finding, ParseError, ParseProblem, Severity

# smartctl's exit status is a bit mask (smartctl(8), RETURN VALUES)
EXIT_BITS = {
    0: "command line did not parse",
    1: "device open failed (missing, no permission, or in low-power mode)",
    2: "some SMART or ATA command to the disk failed",
    3: "SMART status: DISK FAILING",
    4: "prefail attributes at or below their threshold",
    5: "some attributes were at or below their threshold in the past",
    6: "the device error log contains errors",
    7: "the self-test log contains errors",
}


class SmartError(ParseError):
    """smartctl's output (or smartctl itself) failed for a device; `file` is the device."""

    def __init__(self, device: str, message: str) -> None:
        super().__init__(ParseProblem(device, None, message))


@dataclass(frozen=True, slots=True)
class SmartDisk:
    device: str
    protocol: str | None = None
    model: str | None = None
    serial: str | None = None
    passed: bool | None = None
    reallocated: int | None = None
    pending: int | None = None
    offline_uncorrectable: int | None = None
    media_errors: int | None = None
    percentage_used: int | None = None
    critical_warning: int | None = None
    temperature: float | None = None
    power_on_hours: int | None = None
    exit_status: int = 0
    messages: tuple[str, ...] = ()
    version: tuple[int, ...] = ()
    smart_available: bool | None = None

    @property
    def has_data(self) -> bool:
        return self.passed is not None or self.temperature is not None or self.power_on_hours is not None

    def summary(self) -> str:
        """One phrase for a RAID member's line: 'PASSED, 0 reallocated, 34 °C'."""
        if not self.has_data:
            return "no SMART data" + (f" ({self.messages[0]})" if self.messages else "")
        parts = ["PASSED" if self.passed else "FAILED" if self.passed is False else "health unknown"]
        for label, value in (("reallocated", self.reallocated), ("pending", self.pending),
                             ("offline uncorrectable", self.offline_uncorrectable),
                             ("media errors", self.media_errors)):
            if value is not None:
                parts.append(f"{value} {label}")
        if self.percentage_used is not None:
            parts.append(f"{self.percentage_used} % used")
        if self.temperature is not None:
            parts.append(f"{self.temperature:g} °C")
        if self.power_on_hours is not None:
            parts.append(f"{self.power_on_hours} h on")
        return ", ".join(parts)

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["messages"] = list(self.messages)
        data["version"] = list(self.version)
        data["summary"] = self.summary()
        return data


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return int(value) if 0 <= value < 2**63 else None


def _text(value: object, limit: int = 80) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = "".join(c if c.isprintable() else "?" for c in value.strip())[:limit]
    return cleaned or None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _ata_raw(data: dict[str, Any], attribute: int) -> int | None:
    table = _dict(data.get("ata_smart_attributes")).get("table")
    for row in table if isinstance(table, list) else []:
        row = _dict(row)
        if row.get("id") == attribute:
            # raw.value is the whole 48-bit raw field; vendors pack extra data in the upper bytes of
            # some attributes (e.g. 190/194), but 5, 197 and 198 are plain counts
            return _int(_dict(row.get("raw")).get("value"))
    return None


def parse_smartctl(text: str, device: str) -> SmartDisk:
    """One `smartctl --json -a DEVICE` output -> SmartDisk. Raises SmartError when it is not JSON."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise SmartError(device, f"smartctl did not print JSON ({str(err)[:120]})") from None
    if not isinstance(data, dict):
        raise SmartError(device, f"smartctl printed {type(data).__name__}, not a JSON object")
    tool = _dict(data.get("smartctl"))
    version = tuple(v for v in tool.get("version", []) if isinstance(v, int)) if isinstance(
        tool.get("version"), list) else ()
    messages = tuple(t for m in tool.get("messages", []) if isinstance(tool.get("messages"), list)
                     if (t := _text(_dict(m).get("string"), 200)))
    status = _dict(data.get("smart_status"))
    nvme = _dict(data.get("nvme_smart_health_information_log"))
    passed = status.get("passed") if isinstance(status.get("passed"), bool) else None
    return SmartDisk(
        device=device,
        protocol=_text(_dict(data.get("device")).get("protocol")),
        model=_text(data.get("model_name") or data.get("scsi_model_name")),
        serial=_text(data.get("serial_number")),
        passed=passed,
        # SCSI/SAS drives keep their remapped blocks in the grown defect list instead of attribute 5
        reallocated=_ata_raw(data, 5) if "ata_smart_attributes" in data else _int(data.get("scsi_grown_defect_list")),
        pending=_ata_raw(data, 197),
        offline_uncorrectable=_ata_raw(data, 198),
        media_errors=_int(nvme.get("media_errors")),
        percentage_used=_int(nvme.get("percentage_used")),
        critical_warning=_int(nvme.get("critical_warning")),
        temperature=_temperature(data),
        power_on_hours=_int(_dict(data.get("power_on_time")).get("hours")),
        exit_status=_int(tool.get("exit_status")) or 0,
        messages=messages,
        version=version,
        smart_available=_dict(data.get("smart_support")).get("available")
        if isinstance(_dict(data.get("smart_support")).get("available"), bool) else None,
    )


def _temperature(data: dict[str, Any]) -> float | None:
    value = _int(_dict(data.get("temperature")).get("current"))
    return float(value) if value is not None and value < 150 else None


def parse_scan(text: str) -> list[tuple[str, str | None]]:
    """`smartctl --json --scan` -> [(device, type)], e.g. ("/dev/sda", "sat")."""
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as err:
        raise SmartError("smartctl --scan", f"did not print JSON ({str(err)[:120]})") from None
    devices = _dict(data).get("devices")
    result: list[tuple[str, str | None]] = []
    for entry in devices if isinstance(devices, list) else []:
        name = _text(_dict(entry).get("name"), 200)
        if name and name.startswith("/dev/"):
            result.append((name, _text(_dict(entry).get("type"), 40)))
    return result


# -- findings -------------------------------------------------------------------------------

FAILING_ADVICE = ("The drive itself predicts its failure. Back up what is on it now, then replace it "
                  "(for an md RAID member: `yamori raid replace ARRAY --failed DISK`).")
SECTORS_ADVICE = ("The drive is remapping or cannot read sectors: it is wearing out. Check that backups are current, "
                  "run a long self-test (`smartctl -t long DEVICE`) and plan its replacement.")
WORN_ADVICE = "The SSD has used most of its rated write endurance; plan its replacement."
HOT_ADVICE = "Check the airflow around the drives and the case fans; heat shortens a drive's life."


def assess_disk(disk: SmartDisk, previous: SmartDisk | None = None, temperature_warning: float = 55.0) -> list[Finding]:
    name = disk.device
    what = " ".join(x for x in (disk.model, f"serial {disk.serial}" if disk.serial else None) if x)
    label = f"{name} ({what})" if what else name
    found: list[Finding] = []
    if disk.passed is False or disk.exit_status & (1 << 3):
        bits = f" (NVMe critical warning 0x{disk.critical_warning:02x})" if disk.critical_warning else ""
        found.append(Finding("smart.failing", Severity.CRITICAL, name,
                             f"{label}: SMART overall health self-assessment FAILED{bits}", FAILING_ADVICE))
    found.extend(_rising(disk, previous, label))
    for count, words in ((disk.pending, "pending (unreadable, waiting to be remapped)"),
                         (disk.offline_uncorrectable, "offline uncorrectable"),
                         (disk.media_errors, "NVMe media errors")):
        if count:
            found.append(Finding("smart.bad_sectors", Severity.WARNING, name, f"{label}: {count} {words}",
                                 SECTORS_ADVICE))
    if disk.percentage_used is not None and disk.percentage_used >= 80:
        severity = Severity.CRITICAL if disk.percentage_used >= 100 else Severity.WARNING
        found.append(Finding("smart.worn", severity, name,
                             f"{label}: {disk.percentage_used} % of rated endurance used", WORN_ADVICE))
    if disk.temperature is not None and disk.temperature >= temperature_warning:
        found.append(Finding("smart.hot", Severity.WARNING, name,
                             f"{label}: {disk.temperature:g} °C (warning at {temperature_warning:g} °C)", HOT_ADVICE))
    return found


def _rising(disk: SmartDisk, previous: SmartDisk | None, label: str) -> list[Finding]:
    if previous is None or previous.serial != disk.serial:
        return []  # a different drive in the same slot starts a new history
    rises = [f"{words} {before} -> {now}" for words, before, now in (
        ("reallocated sectors", previous.reallocated, disk.reallocated),
        ("pending sectors", previous.pending, disk.pending),
        ("NVMe media errors", previous.media_errors, disk.media_errors))
        if before is not None and now is not None and now > before]
    if not rises:
        return []
    return [Finding("smart.sectors_rising", Severity.WARNING, disk.device,
                    f"{label}: {', '.join(rises)} since the last check", SECTORS_ADVICE)]


def unreadable(disk: SmartDisk) -> str | None:
    """Why a disk's output holds no SMART data (None when it does)."""
    if disk.version and disk.version[0] < 7:
        return f"smartctl {'.'.join(map(str, disk.version))} is too old: --json needs smartmontools 7 or later"
    if disk.has_data:
        return None
    said = "; ".join(disk.messages) or "no SMART data in the output"
    failed = [text for bit, text in EXIT_BITS.items() if disk.exit_status & (1 << bit) and bit <= 2]
    return said + (f" (exit status {disk.exit_status}: {', '.join(failed)})" if failed else "")
