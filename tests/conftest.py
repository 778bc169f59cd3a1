"""Fixtures every test may use: the data under tests/fixtures/ and a temp dir PostgreSQL can enter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI (.ci/run sets YAMORI_CI=1) draws the same examples every run, so a red run is the change's own
# doing and replays; a local `make test` keeps drawing new ones, which is how property tests find
# what nobody thought of (two parser bugs so far: each then pinned with an @example).
settings.register_profile("ci", derandomize=True)
if os.environ.get("YAMORI_CI"):
    settings.load_profile("ci")

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture(scope="session")
def incidents() -> Path:
    """The operator's own artifacts (tests/fixtures/incidents/SOURCES.md)."""
    return FIXTURES / "incidents"


@pytest.fixture(scope="session")
def corpora() -> Path:
    """Other projects' and real servers' samples (tests/fixtures/SOURCES.md)."""
    return FIXTURES / "corpora"


@pytest.fixture
def pg_tmpdir():  # type: ignore[no-untyped-def]
    """A temp dir the `postgres` user can enter (pytest's tmp_path is 0700 under root)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="yamori-pg-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)
