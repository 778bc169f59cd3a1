"""Where history is kept: `open_store(settings)` gives the configured backend."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config.errors import ConfigError, ConfigProblem
from .base import FindingSpan, Point, RollupRow, Series, Store, StoreError, StoreNotFound

if TYPE_CHECKING:
    from ..config import Settings

__all__ = ["FindingSpan", "Point", "RollupRow", "Series", "Store", "StoreError", "StoreNotFound", "open_store"]


def open_store(settings: Settings, *, create: bool = True, config_file: str = "yamori.toml") -> Store:
    """The store `settings.store` describes; create=False raises StoreNotFound instead of
    starting an empty one (for readers such as `yamori query`)."""
    from .tiers import TierError

    try:
        if settings.store.backend == "postgres":
            if not settings.store.dsn:
                raise ConfigError([ConfigProblem(config_file, None, "store.dsn",
                                                 "required for the postgres backend (a libpq conninfo or URI)")])
            from .postgres import PostgresStore

            return PostgresStore(settings.store.dsn, settings.store.retention)
        from .sqlite import SqliteStore

        return SqliteStore.open(settings.agent.state_dir, settings.store.retention, create=create)
    except TierError as err:
        raise ConfigError([ConfigProblem(config_file, None, err.key, str(err).split(": ", 1)[1])]) from err
