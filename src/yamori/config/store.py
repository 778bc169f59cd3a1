"""[store]: where history is kept and for how long."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .types import Duration, Section


def _default_retention() -> dict[str, float]:
    return {"raw": 2 * 86400.0, "5m": 14 * 86400.0, "1h": 90 * 86400.0, "1d": 10 * 365 * 86400.0}


class StoreSettings(Section):
    backend: Literal["sqlite", "postgres"] = Field(
        "sqlite", description="sqlite (embedded) or postgres (shared by several hosts)"
    )
    dsn: str = Field("", description="libpq conninfo for the postgres backend")
    retention: dict[str, Duration] = Field(
        default_factory=_default_retention,
        description="how long each resolution is kept: raw samples, then 5m/1h/1d rollups",
    )
