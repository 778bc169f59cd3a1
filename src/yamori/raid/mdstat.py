"""Pure parser for /proc/mdstat (no I/O, no clock).

Grammar from the producer, drivers/md/md.c md_seq_show() (see the corpus' transcription):

    Personalities : [raid1] [raid6] ...
    md1 : active (auto-read-only) raid1 sdf3[2] sde3[0](F)
          942138801 blocks super 1.1 [2/1] [U_]
          [>....................]  recovery =  0.3% (3171840/942138801) finish=218.2min speed=71696K/sec
          \tresync=DELAYED
          bitmap: 7/8 pages [28KB], 65536KB chunk
    unused devices: <none>

Tolerant where the kernel varies (indentation with spaces or TABs, whitespace-only lines,
line order inside a block, missing trailer) and strict where a wrong reading would be
dangerous: an array header, a member token or the `[n/m] [U_]` pair that cannot be read
raises `MdstatError` with the line number instead of reporting a healthy array.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .model import Array, Bitmap, MdStat, MdstatError, Member, Note, Sync

__all__ = ["MdstatError", "parse_mdstat"]

_HEADER = re.compile(r"^(?P<name>md[^\s:]*)\s+:\s+(?P<activity>active|inactive)(?:\s+(?P<rest>.*))?$")
_MEMBER = re.compile(r"^(?P<dev>[^\s\[\]()]+)\[(?P<slot>\d+)\](?P<flags>(?:\([A-Z]\))*)$")
_LEVEL = re.compile(r"^[a-z][a-z0-9_-]*$")
_BLOCKS = re.compile(r"^(?P<blocks>\d+) blocks\b\s*(?P<rest>.*)$")
_COUNTS = re.compile(r"\[(?P<n>\d+)/(?P<m>\d+)\]\s+\[(?P<slots>[U_]*)\]")
_SUPER = re.compile(r"^super (?P<meta>\S+)\s*")
_CHUNK = re.compile(r"(?P<size>\d+[kKmM]) chunks?\b")
_ALGORITHM = re.compile(r"\balgorithm (?P<n>\d+)")
_PROGRESS = re.compile(
    r"^(?:\[[=>.]*\]\s*)?(?P<action>[a-z]+)\s*=\s*(?P<pct>\d+(?:\.\d+)?)%"
    r"(?:\s*\((?P<done>\d+)/(?P<total>\d+)\))?"
    r"(?:\s+finish=(?P<finish>\d+(?:\.\d+)?)min)?"
    r"(?:\s+speed=(?P<speed>\d+)K/sec)?"
)
_WAITING = re.compile(r"^(?P<action>[a-z]+)=(?P<status>DELAYED|PENDING|REMOTE)$")
_BITMAP = re.compile(
    r"^bitmap: (?P<used>\d+)/(?P<total>\d+) pages \[(?P<kib>\d+)KB\], (?P<chunk>\d+[A-Za-z]*) chunk"
    r"(?:, file: (?P<file>.*))?$"
)


@dataclass
class _Block:
    """An array being assembled while its indented lines are read (built once, at its end)."""

    fields: dict[str, Any]
    has_blocks: bool = False
    status: tuple[int, str] = (0, "")  # the 'N blocks' line: number and text
    waiting: list[Sync] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.fields["name"])


@dataclass
class _Parse:
    personalities: tuple[str, ...] = ()
    arrays: list[Array] = field(default_factory=list)
    unused: tuple[str, ...] = ()
    notes: list[Note] = field(default_factory=list)
    current: _Block | None = None
    structured: bool = False  # a Personalities or unused devices line was seen


def parse_mdstat(text: str) -> MdStat:
    """Parse the whole text of /proc/mdstat. Raises `MdstatError` (with the line) if malformed."""
    state = _Parse()
    for number, raw in enumerate(text.splitlines(), start=1):
        _parse_line(state, number, raw)
    _close(state, len(text.splitlines()) + 1)
    if not state.structured and not state.arrays:
        # md.c always writes "Personalities : ..." first and "unused devices: ..." last: a file
        # with neither and no array is not mdstat (random bytes, the wrong file), not "no arrays"
        first = state.notes[0].line if state.notes else 1
        raise MdstatError(first, "not /proc/mdstat: no 'Personalities :' line, no array and no "
                                 "'unused devices:' line" + ("" if text.strip() else " (the file is empty)"))
    notes = tuple(sorted(state.notes, key=lambda n: n.line))
    return MdStat(state.personalities, tuple(state.arrays), state.unused, notes)


def _parse_line(state: _Parse, number: int, raw: str) -> None:
    line = raw.strip()
    if not line:
        return  # md.c ends blocks with 6-space lines; blank lines separate arrays
    if raw[0] in " \t":
        _indented(state, number, line)
    elif line.startswith("Personalities"):
        _close(state, number)
        state.personalities = _personalities(number, line)
        state.structured = True
    elif line.startswith("unused devices"):
        _close(state, number)
        state.unused = tuple(t for t in line.partition(":")[2].split() if t != "<none>")
        state.structured = True
    elif line.startswith("md"):
        _close(state, number)
        state.current = _Block(_header(number, line))
    elif _BLOCKS.match(line) or line.startswith("["):
        # A status or progress line at column 0: older kernels never did this, and it
        # belongs to no array, so the file is cut or mangled.
        _indented(state, number, line)
    else:
        state.notes.append(Note(number, line, "not an mdstat line"))


def _close(state: _Parse, number: int) -> None:
    block = state.current
    if block is None:
        return
    if not block.has_blocks:
        raise MdstatError(block.fields["line"], f"{block.name}: header without its 'N blocks' line (truncated?)")
    array = Array(**block.fields, waiting=tuple(block.waiting))
    if problem := _inconsistency(array):
        state.notes.append(Note(block.status[0], block.status[1], f"{array.name}: {problem}"))
    state.arrays.append(array)
    state.current = None


def _personalities(number: int, line: str) -> tuple[str, ...]:
    tokens = line.partition(":")[2].split()
    bad = [t for t in tokens if not (t.startswith("[") and t.endswith("]"))]
    if bad:
        raise MdstatError(number, f"Personalities: expected [name] tokens, got {bad[0]!r}")
    return tuple(t[1:-1] for t in tokens)


def _header(number: int, line: str) -> dict[str, Any]:
    match = _HEADER.match(line)
    if match is None:
        raise MdstatError(number, f"expected 'mdN : active|inactive [level] members', got {line[:60]!r}")
    tokens = (match["rest"] or "").split()
    read_only = None
    if tokens and tokens[0] in ("(read-only)", "(auto-read-only)"):
        read_only = tokens.pop(0)[1:-1]
    level = None
    if tokens and not _MEMBER.match(tokens[0]):
        level = tokens.pop(0)
        if not _LEVEL.match(level):
            raise MdstatError(number, f"{match['name']}: {level!r} is not a personality name")
    members = tuple(_member(number, match["name"], t) for t in tokens)
    return {"name": match["name"], "active": match["activity"] == "active", "level": level, "members": members,
            "blocks": 0, "line": number, "read_only": read_only}


def _member(number: int, array: str, token: str) -> Member:
    match = _MEMBER.match(token)
    if match is None:
        raise MdstatError(number, f"{array}: member {token!r} is not 'device[n](flags)' (truncated line?)")
    flags = tuple(match["flags"][1::3])  # "(F)(S)" -> ("F", "S")
    return Member(match["dev"], int(match["slot"]), flags)


def _indented(state: _Parse, number: int, line: str) -> None:
    block = state.current
    if block is None:
        if _BLOCKS.match(line) or line.startswith("[") or "=" in line:
            raise MdstatError(number, f"array status line outside any array: {line[:60]!r}")
        state.notes.append(Note(number, line, "indented line outside any array"))
        return
    if not block.has_blocks:
        block.fields.update(_status(number, block.name, line))
        block.has_blocks = True
        block.status = (number, line)
        return
    for handler in (_progress, _waiting, _bitmap):
        if handler(block, line):
            return
    state.notes.append(Note(number, line, f"{block.name}: line not understood"))


def _status(number: int, name: str, line: str) -> dict[str, Any]:
    match = _BLOCKS.match(line)
    if match is None:
        raise MdstatError(number, f"{name}: expected the 'N blocks ...' line, got {line[:60]!r}")
    rest = match["rest"]
    metadata = None
    if sup := _SUPER.match(rest):
        metadata = sup["meta"]
        rest = rest[sup.end():]
    changes: dict[str, Any] = {"blocks": int(match["blocks"]), "metadata": metadata, "layout": rest}
    counts = _COUNTS.search(rest)
    if counts:
        changes.update(raid_disks=int(counts["n"]), working_disks=int(counts["m"]), slots=counts["slots"])
    elif "[" in rest:
        raise MdstatError(number, f"{name}: unreadable '[n/m] [U_]' in {rest[:60]!r}")
    if chunk := _CHUNK.search(rest):
        changes["chunk"] = chunk["size"]
    if algorithm := _ALGORITHM.search(rest):
        changes["algorithm"] = int(algorithm["n"])
    return changes


def _inconsistency(array: Array) -> str | None:
    """The kernel derives [n/m] and [UU_] from one state; hand-edited files disagree."""
    if array.slots is None or array.raid_disks is None:
        return None
    if len(array.slots) != array.raid_disks or array.slots.count("U") != array.working_disks:
        return (f"[{array.raid_disks}/{array.working_disks}] disagrees with [{array.slots}];"
                " the lower count of working disks is used")
    return None


def _progress(block: _Block, line: str) -> bool:
    match = _PROGRESS.match(line)
    if match is None:
        return False
    sync = Sync(
        action=match["action"],
        percent=float(match["pct"]),
        done_blocks=_int(match["done"]),
        total_blocks=_int(match["total"]),
        finish_minutes=float(match["finish"]) if match["finish"] else None,
        speed_kib_s=_int(match["speed"]),
    )
    block.fields["sync"] = sync
    return True


def _waiting(block: _Block, line: str) -> bool:
    match = _WAITING.match(line)
    if match is None:
        return False
    block.waiting.append(Sync(action=match["action"], status=match["status"].lower()))
    return True


def _bitmap(block: _Block, line: str) -> bool:
    match = _BITMAP.match(line)
    if match is None:
        return False
    bitmap = Bitmap(int(match["used"]), int(match["total"]), int(match["kib"]), match["chunk"], match["file"])
    block.fields["bitmap"] = bitmap
    return True


def _int(text: str | None) -> int | None:
    return int(text) if text is not None else None
