"""[postgres]: servers to watch, pgpool, backups, failover (issue: replication and failover)."""

from __future__ import annotations

from pydantic import Field

from .types import Section


class ServerEntry(Section):
    name: str = Field(description="a short name, e.g. db1")
    dsn: str = Field(description="libpq conninfo; passwords from .pgpass or PGPASSWORD, never required here")


class PostgresSettings(Section):
    servers: list[ServerEntry] = Field(default_factory=list)
