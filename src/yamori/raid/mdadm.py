"""Pure parsers for `mdadm --detail` and `mdadm --detail --export` (no I/O, no clock).

The vocabulary follows mdadm 4.2 Detail.c (transcribed in the corpus): right-aligned
"Label : value" lines (older mdadm used a narrower column), a state line such as
"clean, degraded, recovering " (with mdadm's trailing space), "<Action> Status : N% complete"
and a device table whose rows carry state words ("active sync", "spare rebuilding", "faulty",
"removed"). Several outputs may be concatenated (`mdadm --detail /dev/md*`), with mdadm's own
"mdadm: cannot open ..." lines in between; those become notes. `--examine` and
`--detail-platform` outputs are recognised and rejected with `MdadmError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..records import ParseError, ParseProblem
from .model import Note

__all__ = ["DetailDevice", "MdadmDetail", "MdadmError", "MdadmExport", "parse_mdadm_detail", "parse_mdadm_export"]

_HEADER = re.compile(r"^(?P<device>/dev/\S+):\s*$")
_FIELD = re.compile(r"^\s*(?P<label>[A-Za-z][A-Za-z ]*?)\s+:(?:\s(?P<value>.*))?$")
_TABLE_HEADER = re.compile(r"^\s*Number\s+Major\s+Minor\s+RaidDevice(?:\s+State)?\s*$")
_ROW = re.compile(r"^\s*(?P<number>-|\d+)\s+(?P<major>\d+)\s+(?P<minor>\d+)\s+(?P<role>-|\d+)\s*(?P<rest>.*)$")
_STATUS = re.compile(r"^(?P<action>Rebuild|Resync|Reshape|Check) Status$")
_PERCENT = re.compile(r"^(?P<pct>\d+(?:\.\d+)?)% complete")
_LOCAL = re.compile(r"\s*\(local to host [^)]*\)$")
_EXPORT_DEVICE = re.compile(r"^MD_DEVICE_(?P<sysdev>.+)_(?P<what>ROLE|DEV)$")

# Labels only a per-member superblock dump (--examine) prints.
_EXAMINE_LABELS = {"Magic", "Device Role", "Array State", "Device UUID", "Feature Map"}


class MdadmError(ParseError):
    """Not `mdadm --detail` output: the file (when known) and the 1-based line."""

    def __init__(self, line: int, message: str, file: str | None = None) -> None:
        super().__init__(ParseProblem(file or "", line, message))


@dataclass(frozen=True, slots=True)
class DetailDevice:
    number: int | None
    major: int
    minor: int
    raid_device: int | None  # the role; None for spares, faulty and inactive members
    state: tuple[str, ...]  # ("active", "sync"), ("spare", "rebuilding"), ("faulty",), ("removed",)
    device: str | None  # "/dev/sde3"; None for a removed slot

    @property
    def faulty(self) -> bool:
        return "faulty" in self.state

    @property
    def removed(self) -> bool:
        return "removed" in self.state

    @property
    def rebuilding(self) -> bool:
        return "rebuilding" in self.state


@dataclass(frozen=True, slots=True)
class MdadmDetail:
    device: str
    line: int
    fields: dict[str, str] = field(default_factory=dict, hash=False)
    devices: tuple[DetailDevice, ...] = ()

    def _int(self, label: str) -> int | None:
        value = self.fields.get(label, "").split(" ")[0]
        return int(value) if value.isdigit() else None

    @property
    def level(self) -> str | None:
        return self.fields.get("Raid Level")

    @property
    def state(self) -> tuple[str, ...]:
        """"clean, degraded, recovering " -> ("clean", "degraded", "recovering")."""
        text = self.fields.get("State", "")
        return tuple(w.strip() for w in text.split(",") if w.strip())

    @property
    def degraded(self) -> bool:
        return any(w in ("degraded", "FAILED") for w in self.state)

    @property
    def raid_devices(self) -> int | None:
        return self._int("Raid Devices")

    @property
    def active_devices(self) -> int | None:
        return self._int("Active Devices")

    @property
    def failed_devices(self) -> int | None:
        return self._int("Failed Devices")

    @property
    def spare_devices(self) -> int | None:
        return self._int("Spare Devices")

    @property
    def uuid(self) -> str | None:
        uuid = self.fields.get("UUID")  # 0.90 metadata appends "(local to host X)"
        return _LOCAL.sub("", uuid) if uuid else None

    @property
    def name(self) -> str | None:
        name = self.fields.get("Name")
        return _LOCAL.sub("", name) if name else None

    @property
    def events(self) -> str | None:
        """Kept as text: 0.90 metadata prints "0.1182", and mangled values must not crash."""
        return self.fields.get("Events")

    @property
    def sync(self) -> tuple[str, float] | None:
        """("rebuild", 30.0) from "Rebuild Status : 30% complete"."""
        for label, value in self.fields.items():
            action, percent = _STATUS.match(label), _PERCENT.match(value)
            if action and percent:
                return action["action"].lower(), float(percent["pct"])
        return None


@dataclass(frozen=True, slots=True)
class MdadmReport:
    details: tuple[MdadmDetail, ...]
    notes: tuple[Note, ...] = ()


@dataclass
class _Open:
    device: str
    line: int
    fields: dict[str, str] = field(default_factory=dict)
    devices: list[DetailDevice] = field(default_factory=list)
    in_table: bool = False
    last_label: str | None = None

    def close(self) -> MdadmDetail:
        return MdadmDetail(self.device, self.line, dict(self.fields), tuple(self.devices))


def parse_mdadm_detail(text: str) -> MdadmReport:
    """Parse one or several concatenated `mdadm --detail` outputs."""
    details: list[MdadmDetail] = []
    notes: list[Note] = []
    current: _Open | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        if not line.strip():
            continue
        if header := _HEADER.match(line):
            if current:
                details.append(current.close())
            current = _Open(header["device"], number)
        elif current is None or line.startswith("mdadm:"):
            if current is None and _FIELD.match(line):
                raise MdadmError(number, "not `mdadm --detail` output: no '/dev/mdN:' line before the fields")
            notes.append(Note(number, line, "mdadm message" if line.startswith("mdadm:") else "outside any array"))
        else:
            _detail_line(current, number, line, notes)
    if current:
        details.append(current.close())
    return MdadmReport(tuple(details), tuple(notes))


def _detail_line(current: _Open, number: int, line: str, notes: list[Note]) -> None:
    if _TABLE_HEADER.match(line):
        current.in_table = True
        return
    if current.in_table and (row := _ROW.match(line)):
        current.devices.append(_row(row))
        return
    match = _FIELD.match(line)
    if match and not current.in_table:
        label = match["label"].strip()
        if label in _EXAMINE_LABELS:
            raise MdadmError(number, f"`mdadm --examine` output ({label!r}), not `mdadm --detail`")
        current.fields[label] = (match["value"] or "").strip()
        current.last_label = label
        return
    notes.append(Note(number, line.strip(), f"{current.device}: line not understood"))


def _row(row: re.Match[str]) -> DetailDevice:
    words = row["rest"].split()
    device = words.pop() if words and words[-1].startswith("/") else None
    return DetailDevice(
        number=None if row["number"] == "-" else int(row["number"]),
        major=int(row["major"]),
        minor=int(row["minor"]),
        raid_device=None if row["role"] == "-" else int(row["role"]),
        state=tuple(words),
        device=device,
    )


@dataclass(frozen=True, slots=True)
class ExportMember:
    sysdev: str  # as mdadm prints it in the key: non-alphanumerics replaced by "_"
    role: str | None  # "0", "1", ... or "spare"
    device: str | None  # "/dev/sde3"


@dataclass(frozen=True, slots=True)
class MdadmExport:
    fields: dict[str, str] = field(default_factory=dict, hash=False)
    members: tuple[ExportMember, ...] = ()

    @property
    def level(self) -> str | None:
        return self.fields.get("MD_LEVEL")

    @property
    def raid_devices(self) -> int | None:
        value = self.fields.get("MD_DEVICES", "")
        return int(value) if value.isdigit() else None

    @property
    def uuid(self) -> str | None:
        return self.fields.get("MD_UUID")

    @property
    def name(self) -> str | None:
        return self.fields.get("MD_NAME")

    @property
    def metadata(self) -> str | None:
        return self.fields.get("MD_METADATA")


def parse_mdadm_export(text: str) -> MdadmExport:
    """Parse `mdadm --detail --export` (shell-style KEY=VALUE lines, see Detail.c)."""
    fields: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
            raise MdadmError(number, f"expected KEY=VALUE from `mdadm --detail --export`, got {line[:60]!r}")
        fields[key] = value
    members: dict[str, dict[str, str]] = {}
    for key, value in fields.items():
        if match := _EXPORT_DEVICE.match(key):
            members.setdefault(match["sysdev"], {})[match["what"]] = value
    return MdadmExport(fields, tuple(ExportMember(s, m.get("ROLE"), m.get("DEV")) for s, m in members.items()))
