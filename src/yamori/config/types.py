"""Small value types shared by config sections: durations, listen addresses, sections."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict
from pydantic_core import PydanticCustomError

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdwy]?)\s*$")


def parse_duration(value: object) -> float:
    """'90s', '5m', '2h', '14d', '1w', '10y' or a number of seconds -> seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m, 2h or 14d")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return float(match.group(1)) * _UNITS[match.group(2) or "s"]
    raise ValueError("expected a duration such as 30s, 5m, 2h or 14d")


def format_duration(seconds: float) -> str:
    for unit in ("y", "w", "d", "h", "m"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{seconds}s"


Duration = Annotated[float, BeforeValidator(parse_duration)]


def parse_listen(value: str) -> tuple[str, int]:
    """'127.0.0.1:8421', '[::1]:8421' or ':8421' -> (host, port)."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError("expected HOST:PORT, e.g. 127.0.0.1:8421 (port 0 = any free port)")
    host = host.strip("[]") or "127.0.0.1"
    return host, int(port)


def _check_listen(value: object) -> object:
    if isinstance(value, str):
        parse_listen(value)
    return value


Listen = Annotated[str, BeforeValidator(_check_listen)]


class Section(BaseModel):
    """Every config table: unknown keys are errors, values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def located(message: str, *at: str | int) -> PydanticCustomError:
    """An error a model validator raises about one of its own keys: `at` is the path below the
    model (e.g. "services", 2, "allowed_from", 0), so the problem names that key and its line."""
    return PydanticCustomError("located", "{message}", {"message": message, "at": list(at)})
