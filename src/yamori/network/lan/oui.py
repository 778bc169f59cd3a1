"""MAC address -> vendor, from the IEEE registry as Debian's `ieee-data` ships it (oui.csv:
`Registry,Assignment,Organization Name,Organization Address`).

The table is scanned for the prefixes asked about rather than loaded whole: the agent names a
vendor only when it alerts, and 32 000 rows in a dict would cost it megabytes for nothing."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable
from pathlib import Path

_MAC = re.compile(r"^[0-9a-f]{2}([:-]?[0-9a-f]{2}){5}$")
_PRINTABLE = re.compile(r"[^\x20-\x7e\u00a0-\uffff]")
LOCAL = "locally administered address (no vendor)"
MULTICAST = "multicast address (no vendor)"


def normalize_mac(text: str) -> str | None:
    """'00-00-5E-00-53-01' / '00005e005301' / '00:00:5e:00:53:01' -> '00:00:5e:00:53:01'; None if not a MAC."""
    value = text.strip().lower()
    if not _MAC.match(value):
        return None
    digits = value.replace(":", "").replace("-", "")
    return ":".join(digits[i:i + 2] for i in range(0, 12, 2))


def _hex(mac: str) -> str:
    return mac.replace(":", "").upper()


def parse_oui_csv(lines: Iterable[str], wanted: set[str]) -> dict[str, str]:
    """Rows of an IEEE CSV (MA-L, MA-M or MA-S) -> {assignment (hex): organization} for the
    assignments in `wanted`. Rows that are not assignments (the header, junk) are skipped."""
    found: dict[str, str] = {}
    for line in lines:
        # the assignment column is never quoted: look at it before paying for the CSV parser
        parts = line.split(",", 2)
        if len(parts) < 3 or parts[1].strip().upper() not in wanted:
            continue
        row = next(csv.reader([line]), [])
        if len(row) >= 3:
            found[row[1].strip().upper()] = _clean(row[2])
    return found


def _clean(name: str) -> str:
    return _PRINTABLE.sub("", name).strip()[:80]


def _prefixes(mac: str) -> list[str]:
    digits = _hex(mac)
    return [digits[:9], digits[:7], digits[:6]]   # MA-S, MA-M, MA-L: the longest match wins


# -- reader ------------------------------------------------------------------------------------
def lookup_vendors(path: str | Path, macs: Iterable[str]) -> dict[str, str]:
    """{mac: vendor} for each MAC; '' when unknown or the table is unreadable (a vendor is a
    courtesy in a message, never a reason to fail)."""
    macs = [m for m in set(macs) if m]
    result = {m: MULTICAST if int(m[:2], 16) & 0x01 else LOCAL for m in macs if int(m[:2], 16) & 0x03}
    rest = [m for m in macs if m not in result]
    wanted = {p for m in rest for p in _prefixes(m)}
    try:
        with open(path, encoding="utf-8", errors="replace", newline="") as f:
            table = parse_oui_csv(f, wanted) if wanted else {}
    except OSError:
        table = {}
    for mac in rest:
        result[mac] = next((table[p] for p in _prefixes(mac) if p in table), "")
    return result
