"""Where the PostgreSQL programs are: the newest installed major version wins."""

from __future__ import annotations

import glob
import shutil


def server_binary(name: str) -> str:
    """The newest client or server program: pg_restore must be at least as new as pg_dump."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    path = found[-1] if found else shutil.which(name)
    if path is None:
        raise FileNotFoundError(f"{name} not found (apt-get install postgresql-client / postgresql)")
    return path
