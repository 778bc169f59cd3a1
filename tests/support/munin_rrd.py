"""Munin-shaped RRD files made with the real `rrdtool`, laid out as munin-update does
(Munin::Master::UpdateWorker, graph_data_size normal): DS "42", step 300, heartbeat 600,
AVERAGE/MIN/MAX at 5 min x 576, 30 min x 432, 2 h x 540, 1 day x 450 — plus LAST at the
same resolutions when `last=True` (munin itself does not create LAST)."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

STEP = 300
RESOLUTIONS = ((1, 576), (6, 432), (24, 540), (288, 450))
TYPE_CHAR = {"GAUGE": "g", "DERIVE": "d", "COUNTER": "c", "ABSOLUTE": "a"}


def munin_value(i: int, seed: int = 0) -> float:
    """A wave with a daily shape and a deterministic wiggle (no randomness between runs)."""
    return round(50 + 30 * math.sin(i / 288 * 2 * math.pi + seed) + ((i * 7919 + seed * 104729) % 97) / 10, 3)


def create(path: Path, end: int, days: int = 365, kind: str = "GAUGE", last: bool = True, seed: int = 0,
           gap: tuple[int, int] | None = None) -> None:
    """A year (by default) of 5-minute updates ending at `end` (a multiple of 300), batched
    through one `rrdtool -` process. `gap` = (first, count) of update indexes left out."""
    start = end - days * 86400
    cfs = ("AVERAGE", "MIN", "MAX") + (("LAST",) if last else ())
    rras = [f"RRA:{cf}:0.5:{pdp}:{rows}" for pdp, rows in RESOLUTIONS for cf in cfs]
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["rrdtool", "create", str(path), "--start", str(start - STEP), "-s", str(STEP),
                    f"DS:42:{kind}:600:U:U", *rras], check=True)
    lines = []
    batch: list[str] = []
    counter = 0.0
    for i in range(1, days * 288 + 1):
        if gap and gap[0] <= i < gap[0] + gap[1]:
            continue
        value = munin_value(i, seed)
        if kind != "GAUGE":
            counter += value * STEP
            value = round(counter)
        batch.append(f"{start + i * STEP}:{value}")
        if len(batch) == 2000:
            lines.append(f"update {path} " + " ".join(batch))
            batch = []
    if batch:
        lines.append(f"update {path} " + " ".join(batch))
    done = subprocess.run(["rrdtool", "-"], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True)
    if "ERROR" in done.stdout:
        raise RuntimeError(done.stdout[done.stdout.index("ERROR"):][:300])


def file_name(host: str, plugin: str, field: str, kind: str = "GAUGE") -> str:
    return f"{host}-{plugin.replace('.', '-')}-{field}-{TYPE_CHAR[kind]}.rrd"
