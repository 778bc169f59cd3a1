"""[store]: where history is kept and for how long."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from .types import Duration, Section, located


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

    @model_validator(mode="after")
    def _usable(self) -> StoreSettings:
        """What opening the store would trip on, found now with the key and its line."""
        from .retention import TierError, plan_tiers

        if self.backend == "postgres" and not self.dsn:
            raise located("required for the postgres backend (a libpq conninfo or URI)", "dsn")
        try:
            plan_tiers(self.retention)
        except TierError as err:
            at = err.key.split(".", 2)[1:]  # store.retention.7m -> retention, 7m
            raise located(str(err).split(": ", 1)[1], *at) from None
        return self
