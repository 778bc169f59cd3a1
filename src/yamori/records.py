"""The shared vocabulary: every probe, parser and check speaks in these records.

Downstream code (store, alerts, views) only ever sees these types, never raw text.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class Severity(enum.StrEnum):
    """How bad a finding is, as reported in every `--json` output."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls(text.strip().lower())


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


class State(enum.IntEnum):
    """Nagios-style state; the integer is the exit code `yamori check` uses."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @property
    def label(self) -> str:
        return self.name

    @classmethod
    def from_severity(cls, severity: Severity) -> State:
        return {
            Severity.INFO: cls.OK,
            Severity.WARNING: cls.WARNING,
            Severity.CRITICAL: cls.CRITICAL,
        }[severity]

    @classmethod
    def parse(cls, text: str) -> State:
        return cls[text.strip().upper()]


def worst_state(states: list[State] | tuple[State, ...]) -> State:
    """CRITICAL beats UNKNOWN beats WARNING beats OK, as Nagios aggregators do."""
    order = {State.OK: 0, State.WARNING: 1, State.UNKNOWN: 2, State.CRITICAL: 3}
    return max(states, key=order.__getitem__, default=State.OK)


@dataclass(frozen=True, slots=True)
class Sample:
    """One measurement. `labels` identify the series (device, mount, chip...)."""

    metric: str
    value: float
    labels: dict[str, str] = field(default_factory=dict, hash=False)
    unit: str = ""
    time: float | None = None

    def series_key(self) -> str:
        """A stable text key for the series: metric{k="v",...} with sorted labels."""
        return series_key(self.metric, self.labels)


def series_key(metric: str, labels: dict[str, str]) -> str:
    if not labels:
        return metric
    inner = ",".join(f'{k}="{labels[k]}"' for k in sorted(labels))
    return f"{metric}{{{inner}}}"


@dataclass(frozen=True, slots=True)
class Finding:
    """Something wrong (or worth knowing), said in plain words, with where and what to do.

    `check` is a stable identifier (``raid.degraded``, ``hba.stale_network``); `subject` is
    what it is about (``md1``, ``pg_hba.conf:12``). `file`/`line` locate it in a config file
    when there is one.
    """

    check: str
    severity: Severity
    subject: str
    message: str
    advice: str = ""
    file: str | None = None
    line: int | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "severity": str(self.severity),
            "file": self.file,
            "line": self.line,
            "subject": self.subject,
            "message": self.message,
            "advice": self.advice,
        }


@dataclass(slots=True)
class AuthEvent:
    """One authentication failure as PostgreSQL reported it.

    `trusted` is False when the record could not be attributed unambiguously (log injection
    suspected): nothing may be banned on the strength of such an event.

    Not frozen, but never changed once made (dataclasses.replace makes a new one): a frozen
    dataclass's __init__ sets each field through object.__setattr__, 2.0 us against 0.26 us
    for these twelve fields, and a log scan makes one per failure line.
    """

    time: str | None
    source: str | None
    user: str | None
    database: str | None
    kind: str
    encryption: str | None = None
    role_exists: bool | None = None
    lang: str = "en"
    trusted: bool = True
    file: str | None = None
    line: int | None = None
    source_network: str | None = None   # CIDR of the matched pg_hba.conf rule when no address is known

    def as_json(self) -> dict[str, Any]:
        return {
            "time": self.time,
            "source": self.source,
            "user": self.user,
            "database": self.database,
            "kind": self.kind,
            "encryption": self.encryption,
            "role_exists": self.role_exists,
            "lang": self.lang,
            "trusted": self.trusted,
            "source_network": self.source_network,
        }


@dataclass(frozen=True, slots=True)
class ParseProblem:
    """The one located error of every parser: what could not be read, and where. Rendered the
    same way by every command: `file:line: field: message` (parts that are unknown left out)."""

    file: str
    line: int | None
    message: str
    field: str = ""
    text: str = ""      # the offending line as written, when a finding wants to quote it

    def __str__(self) -> str:
        if self.file:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
        else:
            where = "input" if self.line is None else f"line {self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class ParseError(ValueError):
    """Raised by a parser that cannot go on; carries its located problems (at least one)."""

    def __init__(self, problems: ParseProblem | list[ParseProblem]) -> None:
        self.problems = [problems] if isinstance(problems, ParseProblem) else list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @property
    def first(self) -> ParseProblem:
        return self.problems[0]

    @property
    def file(self) -> str:
        return self.first.file

    @property
    def line(self) -> int | None:
        return self.first.line

    @property
    def reason(self) -> str:
        return self.first.message


Record = Sample | Finding
