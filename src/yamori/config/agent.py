"""[agent]: where the agent listens, keeps its state, and which roots its readers use."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from .types import Listen, Section


class AgentSettings(Section):
    listen: Listen = Field("127.0.0.1:8421", description="/metrics, /healthz, status page; port 0 = any free port")
    state_dir: Path = Field(Path("./var"), description="SQLite store, outbox, positions")
    proc: Path = Field(Path("/proc"), description="root the readers use for /proc; tests point it at fixture trees")
    sys: Path = Field(Path("/sys"), description="root the readers use for /sys")
    dev: Path = Field(Path("/dev"), description="root used to resolve /dev/disk/by-id names")
    locale_dir: Path = Field(Path("/usr/share/locale"), description="where PostgreSQL's translated messages "
                             "(LANG/LC_MESSAGES/postgres-*.mo) are read, to recognise a translated server log")
    hostname: str = Field("", description="name this host reports as; empty = the system hostname")
