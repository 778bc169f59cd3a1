"""Is the machine that answered the one the inventory names? Pure comparisons, safe display."""

from __future__ import annotations

from dataclasses import dataclass

from .route import Hop

MAX_ANSWER = 256  # a hostname or machine-id is short; anything longer is cut when read


def shown(text: str | None) -> str:
    """An answer from the far side, safe to print on a terminal: control characters escaped."""
    if text is None:
        return "(no answer)"
    if text == "":
        return "(empty)"
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" if ord(c) < 256 else f"\\u{ord(c):04x}"
                   for c in text)


def answer(raw: bytes) -> str:
    """What `uname -n` or `cat /etc/machine-id` printed: decoded, its one final newline removed.
    Nothing else is stripped: "db2 " or "db2\\r" is not "db2"."""
    text = raw[:MAX_ANSWER].decode("utf-8", errors="replace")
    return text[:-1] if text.endswith("\n") else text


@dataclass(frozen=True, slots=True)
class Mismatch:
    what: str  # "host key", "hostname", "machine-id", "host" (unreachable)
    expected: str
    answered: str

    def __str__(self) -> str:
        return f"{self.what}: expected {self.expected}, answered {self.answered}"

    def as_json(self) -> dict[str, str]:
        return {"what": self.what, "expected": self.expected, "answered": self.answered}


def compare(hop: Hop, hostname: str | None, machine_id: str | None) -> list[Mismatch]:
    found = []
    if hostname != hop.hostname:
        found.append(Mismatch("hostname", hop.hostname, shown(hostname)))
    if hop.machine_id is not None and machine_id != hop.machine_id:
        found.append(Mismatch("machine-id", hop.machine_id, shown(machine_id)))
    return found
