"""Where the LAN sightings persist (first/last seen, conflicts already reported), shared by the
agent's watcher and `yamori net neighbours`: each merges the file before writing it, and
writes a temporary file then renames it."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from ...config import Settings
from .conflict import Tracker, dumps

FILE_NAME = "lan-neighbours.json"
MAX_BYTES = 8 << 20


def state_path(settings: Settings) -> Path:
    lan = settings.network.lan
    return Path(lan.state_file) if lan.state_file else Path(settings.agent.state_dir) / FILE_NAME


def load_tracker(path: Path, window: float) -> tuple[Tracker, list[str]]:
    tracker = Tracker(window)
    return tracker, merge_file(tracker, path)


def merge_file(tracker: Tracker, path: Path) -> list[str]:
    """Fold the file's sightings into `tracker`; problems are returned located by file."""
    try:
        if path.stat().st_size > MAX_BYTES:
            return [f"{path}: larger than {MAX_BYTES} bytes; not read"]
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return []
    except (OSError, UnicodeError, ValueError) as err:
        return [f"{path}: unreadable ({err}); starting afresh"]
    return [f"{path}: {p}" for p in tracker.load(data)]


def save_tracker(tracker: Tracker, path: Path) -> None:
    merge_file(tracker, path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".lan-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(dumps(tracker))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
