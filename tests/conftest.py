"""Fixtures every test may use: the data under tests/fixtures/ and a temp dir PostgreSQL can enter."""

from __future__ import annotations

from pathlib import Path

import pytest

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
