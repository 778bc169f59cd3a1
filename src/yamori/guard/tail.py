"""Follow log files by polling, rotation-safe, resuming from persisted positions.

A file is known by (device, inode) plus a fingerprint of its first bytes, not by its name: a
rename by logrotate keeps its position; a new file under the old name is read from its start;
copytruncate (the size drops below our offset, or the head changes) restarts at 0. Only whole
lines are consumed; a partial last line waits for its end. Positions are written atomically to
state_dir after each batch, so a restart neither loses nor repeats a line.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import stat
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..statefiles import write_atomic

FINGERPRINT = 256          # bytes of the head that identify a file beside its inode
HISTORY = 512              # heads remembered with what was consumed of them (copies, truncations)
COMPRESSED = (".gz", ".xz", ".bz2", ".zst")   # rotated copies of what was read: never read again
READ_MAX = 1 << 20         # per file per poll: bounded memory, and no file starves the others
POSITIONS = "guard-positions.json"
HISTORY_KEY = "history"    # (never a "dev:inode" key)


@dataclass
class Position:
    path: str
    offset: int
    fingerprint: str
    fp_len: int
    skipping: bool = False    # inside a line longer than READ_MAX: dropped up to its newline


@dataclass(frozen=True, slots=True)
class Chunk:
    key: str          # "dev:inode"
    path: str
    data: bytes       # whole lines only
    start: int        # file offset of data[0]
    new: bool         # first read of this file (parsers start afresh)
    more: bool        # more data is already waiting in the file


def _fingerprint(f: object, length: int) -> str:
    f.seek(0)  # type: ignore[attr-defined]
    return hashlib.sha1(f.read(length)).hexdigest()  # type: ignore[attr-defined]


class Tailer:
    def __init__(self, globs: list[str], state_dir: Path | None, *, backlog: float = 86400.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.globs = globs
        self.state_path = Path(state_dir) / POSITIONS if state_dir else None
        self.backlog = backlog
        self.clock = clock
        self.positions: dict[str, Position] = {}
        self.problems: list[str] = []   # state that could not be read, paths skipped (reported)
        self._skipped: set[str] = set()
        self._more = False
        self.history: OrderedDict[str, list[int]] = OrderedDict()   # head fingerprint -> [length, consumed]
        self.first_start = True
        self.behind = False      # the last poll left data unread (a big backlog): poll again at once
        self._saved = ""         # the positions as last written, so an idle poll writes nothing
        self._mtimes: dict[str, int] = {}   # st_mtime_ns per file at the last poll (memory only)
        self._last_snapshot: dict[str, tuple[int, int, int]] | None = None
        self._load()

    def _load(self) -> None:
        if not self.state_path:
            return
        try:
            text = self.state_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as err:
            self.problems.append(f"{self.state_path}: cannot read: {err.strerror}")
            return
        try:
            raw = json.loads(text)
            history = raw.pop(HISTORY_KEY, [])
            self.positions = {k: Position(**v) for k, v in raw.items()}
            self.history = OrderedDict((str(fp), [int(n), int(off)]) for fp, n, off in history)
            self.first_start = False
        except (ValueError, TypeError, AttributeError) as err:
            from .bans import keep_aside

            self.positions = {}
            self.problems.append(keep_aside(self.state_path, f"unreadable positions ({err})"))

    def save(self) -> None:
        if not self.state_path:
            return
        data: dict[str, object] = {k: vars(v) for k, v in self.positions.items()}
        data[HISTORY_KEY] = [[fp, n, off] for fp, (n, off) in self.history.items()]
        text = json.dumps(data)
        if text == self._saved:
            return  # nothing moved: no write every poll
        write_atomic(self.state_path, text)
        self._saved = text

    def files(self) -> list[str]:
        out: list[str] = []
        for g in self.globs:
            out += sorted(glob.glob(g)) if any(c in g for c in "*?[") else ([g] if os.path.exists(g) else [])
        return list(dict.fromkeys(out))

    def snapshot(self) -> dict[str, tuple[int, int, int]]:
        """(inode, size, mtime) of every matching file: cheap enough to run on the event loop."""
        result: dict[str, tuple[int, int, int]] = {}
        for path in self.files():
            try:
                st = os.stat(path)
            except OSError:
                continue
            result[path] = (st.st_ino, st.st_size, st.st_mtime_ns)
        return result

    def changed(self) -> bool:
        """True when a poll could find something: a file appeared, vanished, grew or was rewritten."""
        return self.behind or self.snapshot() != self._last_snapshot

    def poll(self) -> list[Chunk]:
        """New whole lines of every matching file (oldest modified first)."""
        self._last_snapshot = self.snapshot()
        self._more = False
        chunks: list[Chunk] = []
        seen: set[str] = set()
        stats: list[tuple[float, str, os.stat_result]] = []
        for path in self.files():
            st = self._regular(path)
            if st is not None:
                stats.append((st.st_mtime, path, st))
        for _, path, st in sorted(stats):
            key = f"{st.st_dev}:{st.st_ino}"
            if key in seen:
                continue   # the same file under two names (a hard link, a glob overlap)
            seen.add(key)
            chunk = self._read(path, key, st)
            if chunk is not None:
                chunks.append(chunk)
        # forget files that no longer exist under any name we watch
        for key in [k for k in self.positions if k not in seen]:
            del self.positions[key]
        for key in [k for k in self._mtimes if k not in seen]:
            del self._mtimes[key]
        self.first_start = False
        self.behind = self._more or any(c.more for c in chunks)
        return chunks

    def _remember(self, pos: Position) -> None:
        """What was consumed of a file with this head, kept when the file is truncated, renamed
        or copied (bounded): a copy (`copytruncate`'s `*.log.1`) is then read from there on."""
        h = self.history
        h[pos.fingerprint] = [pos.fp_len, max(pos.offset, h.get(pos.fingerprint, [0, 0])[1])]
        h.move_to_end(pos.fingerprint)
        while len(h) > HISTORY:
            h.popitem(last=False)

    def _already_read(self, f: object, size: int) -> int:
        """For a file never seen under its inode: the offset up to which a file with the same
        head was already read (0 when none)."""
        best = 0
        heads: dict[int, str] = {}
        for fp, (fp_len, offset) in self.history.items():
            if fp_len > size or fp_len <= 0:
                continue
            if fp_len not in heads:
                heads[fp_len] = _fingerprint(f, fp_len)
            if heads[fp_len] == fp:
                best = max(best, min(offset, size))
        return best

    def _regular(self, path: str) -> os.stat_result | None:
        """Compressed rotations (`*.log.2.gz`) are copies of what was read before: not read.
        The stat of a regular file to read, or None: a FIFO would block the tailer forever, a
        device or directory is no log, and a symlink is followed only to a file in its own
        directory (a link out of the log directory could make the guard read anything)."""
        if path.endswith(COMPRESSED):
            return None
        try:
            lst = os.lstat(path)
            why = None
            if stat.S_ISLNK(lst.st_mode):
                target = os.path.realpath(path)
                if os.path.dirname(target) != os.path.realpath(os.path.dirname(path) or "."):
                    why = f"a symbolic link out of its directory (to {target})"
            st = os.stat(path)
        except OSError:
            return None
        if why is None and not stat.S_ISREG(st.st_mode):
            why = "not a regular file (a FIFO, socket, device or directory)"
        if why is not None:
            if path not in self._skipped:
                self._skipped.add(path)
                if len(self._skipped) > 4096:
                    self._skipped.clear()
                self.problems.append(f"{path}: skipped: {why}")
            return None
        return st

    def _read(self, path: str, key: str, st: os.stat_result) -> Chunk | None:
        pos = self.positions.get(key)
        unchanged = self._mtimes.get(key) == st.st_mtime_ns
        self._mtimes[key] = st.st_mtime_ns
        if unchanged and pos is not None and pos.path == path and st.st_size == pos.offset:
            return None  # untouched since the last poll: an idle poll costs one stat(), not an open and a read
        try:
            f = open(path, "rb")  # noqa: SIM115
        except OSError:
            return None
        with f:
            # truncated (copytruncate), or another file on a reused inode: start again
            new = pos is None or st.st_size < pos.offset or bool(
                pos.fp_len and _fingerprint(f, pos.fp_len) != pos.fingerprint)
            if new:
                offset = self._already_read(f, st.st_size)
                if self.first_start and st.st_mtime < self.clock() - self.backlog:
                    offset = st.st_size   # older than the backlog: start at its end
                pos = Position(path, offset, "", 0)
            assert pos is not None
            pos.path = path
            if pos.fp_len < FINGERPRINT and st.st_size > pos.fp_len:
                pos.fp_len = min(FINGERPRINT, st.st_size)
                pos.fingerprint = _fingerprint(f, pos.fp_len)
            self.positions[key] = pos
            if pos.fp_len:
                self._remember(pos)
            if st.st_size <= pos.offset:
                return None
            f.seek(pos.offset)
            data = f.read(READ_MAX)
        if pos.skipping:   # the rest of an over-long line: dropped up to its end
            nl = data.find(b"\n")
            if nl < 0:
                pos.offset += len(data)
                self._more = self._more or pos.offset < st.st_size
                return None
            pos.offset += nl + 1
            pos.skipping = False
            data = data[nl + 1:]
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            if len(data) == READ_MAX:
                # one line longer than the read buffer (a 1.5 MB STATEMENT): skipped in bounded
                # memory, reading goes on after it
                self.problems.append(f"{path}: a line longer than {READ_MAX} bytes at offset {pos.offset} "
                                     "was skipped")
                pos.offset += len(data)
                pos.skipping = True
                self._more = self._more or pos.offset < st.st_size
            return None              # a partial line: wait for its end
        start = pos.offset
        pos.offset += cut
        self._remember(pos)
        return Chunk(key, path, data[:cut], start, new, pos.offset < st.st_size and len(data) == READ_MAX)
