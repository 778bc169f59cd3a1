from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def world_readable() -> Iterator[Path]:
    """A directory the plugin user (nobody) can reach: pytest's tmp_path sits under a 0700
    directory, and munin-node drops to nobody before it runs a plugin."""
    path = Path(tempfile.mkdtemp(prefix="yamori-munin-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
