"""Which enclosure slot holds a disk (/sys/class/enclosure, SES backplanes), so the plan can
say "slot 3" and light that slot's locate LED.

Layout (drivers/misc/enclosure.c): /sys/class/enclosure/<H:C:T:L>/<component>/ with `slot`,
`locate`, `fault`, `status` files and a `device` link to the SCSI device whose `block/`
directory names the disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Slot:
    enclosure: str  # "0:0:8:0"
    component: str  # "Slot 03" or "003", as the enclosure names it
    number: int | None  # the `slot` file
    locate: bool  # the enclosure exposes a locate LED for it

    def label(self) -> str:
        number = f" (slot {self.number})" if self.number is not None else ""
        return f"enclosure {self.enclosure}, {self.component}{number}"


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def slot_of(sys_root: Path, disk: str) -> Slot | None:
    base = sys_root / "class" / "enclosure"
    try:
        enclosures = sorted(base.iterdir())
    except OSError:
        return None
    for enclosure in enclosures:
        try:
            components = sorted(p for p in enclosure.iterdir() if (p / "device").exists())
        except OSError:
            continue
        for component in components:
            try:
                disks = {p.name for p in (component / "device" / "block").iterdir()}
            except OSError:
                continue
            if disk in disks:
                text = _read(component / "slot")
                number = int(text) if text and text.isdigit() else None
                return Slot(enclosure.name, component.name, number, (component / "locate").exists())
    return None
