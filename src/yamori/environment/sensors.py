"""Temperature/humidity sensors the operator declares: a JSON object from a file, a command's
standard output or an HTTP GET. `parse_sensor_json` is pure; the readers around it are thin.

Everything a sensor says may be garbage or hostile (a cheap network thermometer, a script that
prints an error page): sizes and time are bounded, and every problem becomes a `SensorError`
that names the sensor, where it was read and the key, never an exception out of the probe.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..config.environment import SensorEntry
from ..records import ParseError, ParseProblem
from .envelope import Reading, ReadingError, check_reading

MAX_BYTES = 64 * 1024


class _Readable(Protocol):
    async def read(self, n: int = -1, /) -> bytes: ...


@dataclass
class SensorError(Exception):
    sensor: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"sensor {self.sensor} ({self.where}): {self.message}"


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _lookup(data: object, key: str) -> object:
    """`a.b` walks nested objects; a key that itself contains a dot is tried whole first."""
    if isinstance(data, dict) and key in data:
        return data[key]
    head, dot, rest = key.partition(".")
    if dot and isinstance(data, dict) and head in data:
        return _lookup(data[head], rest)
    raise KeyError(key)


def _number(data: object, key: str, source: str) -> float:
    def problem(message: str) -> ParseError:
        return ParseError(ParseProblem(source, None, message, field=key))

    try:
        value = _lookup(data, key)
    except KeyError:
        raise problem("missing") from None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise problem(f"expected a number, got {_shown(value)}") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise problem(f"expected a number, got {_shown(value)}")
    return float(value)


def parse_sensor_json(text: str, temperature_key: str = "temperature", humidity_key: str = "humidity",
                      source: str = "") -> Reading:
    """A JSON object -> Reading (°C, % RH). Raises ParseError naming the source, line or key."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise ParseError(ParseProblem(source, err.lineno, f"not JSON: {err.msg} (column {err.colno})")) from None
    except RecursionError:
        raise ParseError(ParseProblem(source, None, "JSON nested too deeply")) from None
    if not isinstance(data, dict):
        raise ParseError(ParseProblem(source, None, f"expected a JSON object, got {type(data).__name__}"))
    temperature = _number(data, temperature_key, source)
    humidity = _number(data, humidity_key, source)
    try:
        return check_reading(temperature, humidity)
    except ReadingError as err:
        raise ParseError(ParseProblem(source, None, str(err))) from None


# -- readers --------------------------------------------------------------------------------


def describe_source(sensor: SensorEntry) -> str:
    if sensor.kind == "file":
        return f"file {sensor.path}"
    if sensor.kind == "http-json":
        return f"GET {sensor.url}"
    argv = sensor.command if isinstance(sensor.command, list) else shlex.split(str(sensor.command))
    return f"command {argv[0] if argv else ''}"


async def read_sensor(sensor: SensorEntry, timeout: float) -> Reading:
    """Read and parse one sensor; every failure is a SensorError naming it."""
    where = describe_source(sensor)
    try:
        async with asyncio.timeout(timeout):
            text = await _fetch(sensor)
        return parse_sensor_json(text, sensor.temperature_key, sensor.humidity_key)
    except ParseError as err:
        raise SensorError(sensor.name, where, "; ".join(_located(p) for p in err.problems)) from None
    except TimeoutError:
        raise SensorError(sensor.name, where, f"no answer within {timeout:g}s") from None
    except SensorError:
        raise
    except (OSError, ValueError, UnicodeDecodeError) as err:
        raise SensorError(sensor.name, where, _reason(err)) from None
    except Exception as err:  # aiohttp's client errors and anything else the network throws at us
        raise SensorError(sensor.name, where, f"{type(err).__name__}: {err}"[:200]) from None


def _located(problem: ParseProblem) -> str:
    """The source is already named beside the sensor: the line and the key are what is left."""
    parts = [f"line {problem.line}" if problem.line is not None else "", problem.field]
    prefix = ": ".join(p for p in parts if p)
    return f"{prefix}: {problem.message}" if prefix else problem.message


def _reason(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err)[:300]


async def _fetch(sensor: SensorEntry) -> str:
    if sensor.kind == "file":
        assert sensor.path is not None
        return await asyncio.to_thread(read_limited, sensor.path)
    if sensor.kind == "command":
        argv = sensor.command if isinstance(sensor.command, list) else shlex.split(str(sensor.command))
        return await run_command(argv)
    assert sensor.url is not None
    return await http_get(sensor.url)


def read_limited(path: Path) -> str:
    with open(path, "rb") as handle:
        data = handle.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ValueError(f"more than {MAX_BYTES} bytes: not a sensor reading")
    return data.decode("utf-8")


async def run_command(argv: list[str]) -> str:
    """Run without a shell; stdout bounded; killed when the caller's timeout cancels us."""
    if not argv:
        raise ValueError("empty command")
    process = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"})
    try:
        assert process.stdout is not None and process.stderr is not None
        data, err = await asyncio.gather(_read_bounded(process.stdout, MAX_BYTES + 1),
                                         _read_bounded(process.stderr, 4096))
        if len(data) > MAX_BYTES:
            raise ValueError(f"printed more than {MAX_BYTES} bytes: not a sensor reading")
        code = await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    if code != 0:
        said = err.decode("utf-8", "replace").strip().splitlines()
        raise ValueError(f"exited with status {code}" + (f": {said[-1][:200]}" if said else ""))
    return data.decode("utf-8")


async def _read_bounded(stream: _Readable, limit: int) -> bytes:
    """Up to `limit` bytes or EOF (a single read() returns whatever one chunk held)."""
    chunks: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await stream.read(limit - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


async def http_get(url: str) -> str:
    import aiohttp  # lazy: ~35 MB of the agent's budget is not spent unless a sensor needs it

    async with aiohttp.ClientSession() as session, session.get(url, allow_redirects=False) as response:
        if response.status != 200:
            raise ValueError(f"HTTP {response.status} {response.reason or ''}".strip())
        data = await _read_bounded(response.content, MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise ValueError(f"answered more than {MAX_BYTES} bytes: not a sensor reading")
        return data.decode(response.charset or "utf-8")
