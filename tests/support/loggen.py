"""The bench's log generator (bench/loggen.py), run the way the bench runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

LOGGEN = Path(__file__).resolve().parents[2] / "bench" / "loggen.py"


def generate_log(lines: int, out: Path) -> dict[str, int]:
    """A synthetic PostgreSQL 15 stderr log of about `lines` lines; returns its counts
    (lines, failures) as the generator reports them."""
    made = subprocess.run([sys.executable, str(LOGGEN), str(lines), str(out)], check=True,
                          capture_output=True, text=True)
    counts = json.loads(made.stderr.strip().splitlines()[-1])
    return {"lines": int(counts["lines"]), "failures": int(counts["failures"])}
