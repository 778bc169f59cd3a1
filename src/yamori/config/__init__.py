"""Load yamori.toml into typed settings; every problem names file, line and key path."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import ConfigError, ConfigProblem
from .locate import key_lines, line_of
from .model import Settings

__all__ = ["ConfigError", "ConfigProblem", "Settings", "find_config", "load_config", "parse_config"]

DEFAULT_NAME = "yamori.toml"


def find_config(explicit: str | os.PathLike[str] | None) -> Path | None:
    """--config, else $YAMORI_CONFIG, else ./yamori.toml when present, else none."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("YAMORI_CONFIG")
    if env:
        return Path(env)
    local = Path(DEFAULT_NAME)
    return local if local.is_file() else None


def load_config(path: str | os.PathLike[str] | None) -> Settings:
    """Read and validate a config file; None means all defaults."""
    if path is None:
        return Settings()
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise ConfigError([ConfigProblem(str(file), None, "", f"cannot read: {reason}")]) from err
    return parse_config(text, str(file))


def parse_config(text: str, filename: str = DEFAULT_NAME) -> Settings:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        # Python 3.11's TOMLDecodeError keeps the position only in its text
        position = re.search(r"\(at line (\d+), column \d+\)", str(err))
        line = int(position.group(1)) if position else None
        message = str(err).split(" (at line")[0]
        raise ConfigError([ConfigProblem(filename, line, "", f"not valid TOML: {message}")]) from err
    try:
        settings = Settings.model_validate(data)
    except ValidationError as err:
        lines = key_lines(text)
        problems = [_problem(filename, lines, e) for e in err.errors()]
        raise ConfigError(problems) from err
    _cross_check(settings, text, filename)
    return settings


def _cross_check(settings: Settings, text: str, filename: str) -> None:
    """Rules that span sections, located at the key that has to change."""
    from .web import listen_problem

    problem = listen_problem(settings.agent.listen, settings.web)
    if problem:
        line = line_of(key_lines(text), ("agent", "listen"))
        raise ConfigError([ConfigProblem(filename, line, "agent.listen", problem)])


_MESSAGES = {
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "string_type": "expected a string",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "list_type": "expected a list",
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "model_attributes_type": "expected a table",
    "extra_forbidden": "unknown key",
    "missing": "required key is missing",
}


def _problem(filename: str, lines: dict[tuple[str | int, ...], int], error: Any) -> ConfigProblem:
    loc = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "located":
        loc += tuple(ctx.get("at") or ())
    if kind == "literal_error":
        message = f"expected one of {error['ctx']['expected']}"
    elif kind in _MESSAGES:
        message = _MESSAGES[kind]
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    key = ".".join(str(part) if isinstance(part, str) else f"[{part}]" for part in loc).replace(".[", "[")
    return ConfigProblem(filename, line_of(lines, loc), key, message)
