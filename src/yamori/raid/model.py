"""Records for md software RAID as /proc/mdstat describes it.

The vocabulary is the kernel's own (drivers/md/md.c): an *array* has *members*; each member
carries the descriptor number the kernel prints in brackets (`sdf3[2]`) and its flags
(F faulty, S spare, W write-mostly, R replacement, J journal). `[2/1] [U_]` is
raid_disks/working and one U or _ per role slot.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..records import ParseError, ParseProblem

FLAG_NAMES = {"F": "faulty", "S": "spare", "W": "write-mostly", "R": "replacement", "J": "journal"}

# Inactive arrays with this kind of superblock and no personality are IMSM/DDF containers:
# they are inactive by design and hold spares that member arrays use.
CONTAINER_METADATA = ("external:imsm", "external:ddf")


@dataclass(frozen=True, slots=True)
class Member:
    device: str
    slot: int  # the descriptor number in brackets, NOT the role (see kernel md.c)
    flags: tuple[str, ...] = ()

    @property
    def failed(self) -> bool:
        return "F" in self.flags

    @property
    def spare(self) -> bool:
        return "S" in self.flags

    @property
    def journal(self) -> bool:
        return "J" in self.flags


@dataclass(frozen=True, slots=True)
class Sync:
    """A resync/recovery/check/repair/reshape, running or waiting (DELAYED/PENDING)."""

    action: str
    status: str = "running"  # running | delayed | pending | remote
    percent: float | None = None
    done_blocks: int | None = None
    total_blocks: int | None = None
    finish_minutes: float | None = None
    speed_kib_s: int | None = None

    @property
    def eta_seconds(self) -> int | None:
        return None if self.finish_minutes is None else round(self.finish_minutes * 60)


@dataclass(frozen=True, slots=True)
class Bitmap:
    pages_used: int
    pages_total: int
    size_kib: int
    chunk: str
    file: str | None = None


@dataclass(frozen=True, slots=True)
class Array:
    name: str
    active: bool
    level: str | None  # personality: raid1, raid5, linear, ... None for containers
    members: tuple[Member, ...]
    blocks: int
    line: int  # line of the array's header in the file
    read_only: str | None = None  # "read-only" | "auto-read-only"
    metadata: str | None = None  # "super 1.2" -> "1.2"; None means 0.90
    raid_disks: int | None = None  # [n/m]: n
    working_disks: int | None = None  # [n/m]: m
    slots: str | None = None  # [UU_]
    chunk: str | None = None
    algorithm: int | None = None
    layout: str = ""  # the personality's text after "blocks", kept verbatim
    sync: Sync | None = None
    waiting: tuple[Sync, ...] = ()  # DELAYED/PENDING lines (an array may show one)
    bitmap: Bitmap | None = None

    @property
    def activity(self) -> Sync | None:
        """The running sync, else the first waiting one (DELAYED/PENDING), else None."""
        return self.sync or (self.waiting[0] if self.waiting else None)

    @property
    def container(self) -> bool:
        return (not self.active and self.level is None and self.metadata is not None
                and self.metadata.startswith(CONTAINER_METADATA))

    @property
    def state(self) -> str:
        if not self.active:
            return "inactive"
        return self.read_only or "active"

    @property
    def failed(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.failed)

    @property
    def spares(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.spare and not m.failed)

    @property
    def data_members(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if not m.spare and not m.failed and not m.journal)

    @property
    def total_disks(self) -> int:
        """raid_disks as the kernel counts them; for raid0/linear (no [n/m]) every data member."""
        if self.raid_disks is not None:
            return self.raid_disks
        return len(self.data_members) + len([m for m in self.failed if not m.journal])

    @property
    def active_disks(self) -> int:
        if self.container:
            return self.total_disks
        if not self.active:
            return 0
        if self.raid_disks is None:
            return len(self.data_members)
        counts = [n for n in (self.working_disks, self.slots.count("U") if self.slots else None) if n is not None]
        # [n/m] and [UU_] come from the same kernel state; should they ever disagree (hand-made
        # fixtures do), trust the worse one: under-reporting health only costs a look.
        return min([*counts, self.raid_disks])

    @property
    def health_percent(self) -> float:
        total = self.total_disks
        if total <= 0:
            return 0.0 if not self.container else 100.0
        return round(100.0 * self.active_disks / total, 2)

    @property
    def degraded(self) -> bool:
        return self.active and self.active_disks < self.total_disks

    @property
    def missing_roles(self) -> tuple[int, ...]:
        """Role slots shown as `_` in `[U_]`: the positions with no working member."""
        return tuple(i for i, c in enumerate(self.slots or "") if c == "_")


@dataclass(frozen=True, slots=True)
class Note:
    """A line the parser did not understand but that does not make the file unreadable."""

    line: int
    text: str
    reason: str


@dataclass(frozen=True, slots=True)
class MdStat:
    personalities: tuple[str, ...] = ()
    arrays: tuple[Array, ...] = ()
    unused: tuple[str, ...] = ()
    notes: tuple[Note, ...] = field(default=())

    def array(self, name: str) -> Array | None:
        return next((a for a in self.arrays if a.name == name), None)


class MdstatError(ParseError):
    """The text cannot be /proc/mdstat: the file (when known) and the 1-based line."""

    def __init__(self, line: int, message: str, file: str | None = None) -> None:
        super().__init__(ParseProblem(file or "", line, message))

    def with_file(self, file: str) -> MdstatError:
        return MdstatError(self.line or 0, self.reason, file)
