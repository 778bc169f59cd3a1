"""Reading Munin's RRD files through Debian's `rrdtool` in its pipe mode (`rrdtool -`): one
process answers every `info` and `fetch`, so a datadir of thousands of files costs no more
than a process start. Parsers are pure; `Rrdtool` is the thin client."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_INFO = re.compile(r"(\S+) = (.*)")
_SAFE_PATH = re.compile(r"[\w./@:+-]+")


class RrdError(Exception):
    """rrdtool is missing or refused a file; the message names the file."""


@dataclass(frozen=True, slots=True)
class Archive:
    cf: str
    pdp_per_row: int
    rows: int


@dataclass(frozen=True, slots=True)
class RrdInfo:
    step: int
    last_update: int
    ds_type: str
    archives: list[Archive] = field(default_factory=list)

    def resolutions(self) -> dict[int, dict[str, int]]:
        """resolution in seconds -> consolidation function -> rows kept."""
        found: dict[int, dict[str, int]] = {}
        for archive in self.archives:
            found.setdefault(self.step * archive.pdp_per_row, {})[archive.cf] = archive.rows
        return found


def parse_info(text: str, name: str) -> RrdInfo:
    values: dict[str, str] = {}
    for line in text.splitlines():
        match = _INFO.fullmatch(line.strip())
        if match:
            values[match.group(1)] = match.group(2).strip().strip('"')
    try:
        step, last = int(values["step"]), int(values["last_update"])
    except (KeyError, ValueError):
        raise RrdError(f"{name}: rrdtool info gave no step/last_update") from None
    ds_types = [v for k, v in values.items() if re.fullmatch(r"ds\[[^\]]+\]\.type", k)]
    archives = []
    index = 0
    while f"rra[{index}].cf" in values:
        try:
            archives.append(Archive(values[f"rra[{index}].cf"], int(values[f"rra[{index}].pdp_per_row"]),
                                    int(values[f"rra[{index}].rows"])))
        except (KeyError, ValueError):
            raise RrdError(f"{name}: rra[{index}] is incomplete in rrdtool info") from None
        index += 1
    return RrdInfo(step, last, ds_types[0] if ds_types else "GAUGE", archives)


def parse_fetch(text: str) -> tuple[int, list[tuple[int, float]]]:
    """`rrdtool fetch` output -> (step, [(end time, value)]) for the first data source;
    unknown values are NaN. The step is read from the spacing of the rows."""
    rows: list[tuple[int, float]] = []
    for line in text.splitlines():
        stamp, sep, rest = line.partition(":")
        stamp = stamp.strip()
        if not sep or not stamp.isdigit():
            continue  # the header (data source names) and the blank line after it
        words = rest.split()
        try:
            value = float(words[0]) if words else math.nan
        except ValueError:
            value = math.nan
        rows.append((int(stamp), value))
    step = rows[1][0] - rows[0][0] if len(rows) > 1 else 0
    return step, rows


class Rrdtool:
    """One `rrdtool -` process; call close() (or use as a context manager)."""

    def __init__(self, binary: str = "rrdtool") -> None:
        path = shutil.which(binary)
        if path is None:
            raise RrdError("rrdtool is not installed (Debian: apt-get install rrdtool)")
        self._proc = subprocess.Popen([path, "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, bufsize=1, env={"LC_ALL": "C", "TZ": "UTC"})

    def __enter__(self) -> Rrdtool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            try:
                self._proc.stdin.close()
                self._proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()

    def _ask(self, path: Path, words: list[str]) -> str:
        if not _SAFE_PATH.fullmatch(str(path)):
            return self._ask_alone(path, words)
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(" ".join([words[0], str(path), *words[1:]]) + "\n")
        self._proc.stdin.flush()
        lines: list[str] = []
        for line in self._proc.stdout:
            if line.startswith("OK "):
                return "".join(lines)
            if line.startswith("ERROR:"):
                raise RrdError(f"{path}: {line[6:].strip()}")
            lines.append(line)
        raise RrdError(f"{path}: rrdtool stopped answering")

    def _ask_alone(self, path: Path, words: list[str]) -> str:
        """A path pipe mode cannot quote (spaces, quotes): one rrdtool run of its own."""
        done = subprocess.run(["rrdtool", words[0], str(path), *words[1:]], capture_output=True, text=True,
                              env={"LC_ALL": "C", "TZ": "UTC"}, timeout=60, check=False)
        if done.returncode:
            raise RrdError(f"{path}: {done.stderr.strip().removeprefix('ERROR: ')}")
        return done.stdout

    def info(self, path: Path) -> RrdInfo:
        return parse_info(self._ask(path, ["info"]), str(path))

    def fetch(self, path: Path, cf: str, resolution: int, start: int, end: int) -> tuple[int, list[tuple[int, float]]]:
        return parse_fetch(self._ask(path, ["fetch", cf, "-r", str(resolution), "-s", str(start), "-e", str(end)]))
