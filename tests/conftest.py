"""Shared fixtures: where the shared fixtures live, and the real-component helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("YAMORI_SHARED", REPO.parent / "shared"))


@pytest.fixture(scope="session")
def shared() -> Path:
    """../shared: the operator's incidents, other projects' corpora, peer tools."""
    if not SHARED.is_dir():
        pytest.fail(f"shared fixtures not found at {SHARED} (set YAMORI_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def incidents(shared: Path) -> Path:
    return shared / "incidents"


@pytest.fixture(scope="session")
def corpora(shared: Path) -> Path:
    return shared / "corpora"


@pytest.fixture
def pg_tmpdir():  # type: ignore[no-untyped-def]
    """A temp dir the `postgres` user can enter (pytest's tmp_path is 0700 under root)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="yamori-pg-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
