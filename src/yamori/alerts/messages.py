"""What a notification says: one catalog for the email subject and body and the webhook JSON.

Every text says what broke, where (host, subject), since when and what to do next. Text that
came from a source (a log line, a device name) is cleaned of control characters first, so it
can neither fold an email header nor fake extra lines in a message.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ..records import State
from .state import Kind, Transition
from .timefmt import iso_time

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]+")
SUBJECT_MAX = 200


@dataclass(frozen=True, slots=True)
class Notification:
    """One message to send, the same for every notifier; stored in the outbox."""

    host: str
    rule: str
    subject: str
    kind: Kind
    state: State
    previous: State
    since: float
    time: float
    message: str
    advice: str
    id: int = 0

    @classmethod
    def of(cls, host: str, change: Transition) -> Notification:
        return cls(host, change.rule, change.subject, change.kind, change.state, change.previous,
                   change.since, change.time, change.message, change.advice)

    @property
    def message_id(self) -> str:
        """Stable per notification (the same on every retry), so a receiver can drop duplicates."""
        seed = f"{self.host}|{self.rule}|{self.subject}|{self.kind}|{self.state.label}|{self.time!r}|{self.id}"
        digest = hashlib.sha256(seed.encode()).hexdigest()[:32]
        domain = re.sub(r"[^A-Za-z0-9.-]", "-", self.host) or "localhost"
        return f"<{digest}.{self.id}@yamori.{domain}>"


def clean(text: str, limit: int | None = None) -> str:
    """One line, no control characters, optionally shortened."""
    line = _CONTROL.sub(" ", text).strip()
    if limit is not None and len(line) > limit:
        line = line[: limit - 1].rstrip() + "…"
    return line


def clean_block(text: str) -> str:
    """Keep line breaks and indentation (advice lists steps, reports indent tables) but no
    other control characters."""
    lines = (_CONTROL.sub(" ", line).rstrip() for line in text.splitlines())
    return "\n".join(lines).strip("\n")


def local_time(stamp: float) -> str:
    return datetime.fromtimestamp(stamp).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def ago(seconds: float) -> str:
    seconds = max(0, int(seconds))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "min")):
        if seconds >= size:
            return f"{seconds // size} {unit}" if unit != "d" else f"{seconds // size} days"
    return f"{seconds} s"


def email_subject(note: Notification) -> str:
    what = clean(note.message) or note.rule
    if note.kind is Kind.RECOVERY:
        what = f"recovered (was {note.previous.label}): {what}"
    elif note.kind is Kind.REPEAT:
        what = f"still {note.state.label}: {what}"
    elif note.kind is Kind.TEST:
        what = "test message"
    elif note.kind is Kind.REPORT:
        title = clean(note.message.split("\n", 1)[0])
        return clean(f"[yamori] {clean(note.host)} {clean(note.rule)} {clean(note.subject)}: {title}", SUBJECT_MAX)
    head = f"[yamori] {note.state.label} {clean(note.host)} {clean(note.rule)} {clean(note.subject)}: "
    return clean(head + what, SUBJECT_MAX)


def body(note: Notification) -> str:
    """The plain-text body: facts first, then what to do."""
    if note.kind is Kind.TEST:
        return _test_body(note)
    if note.kind is Kind.REPORT:
        return f"{clean_block(note.message)}\n\n-- \nyamori on {clean(note.host)}, sent {local_time(note.time)}\n"
    lines = [_headline(note), "", *_facts(note), ""]
    advice = clean_block(note.advice)
    if note.kind is Kind.RECOVERY:
        lines.append("Nothing to do unless it comes back; the earlier alert has cleared.")
    elif advice:
        lines += ["What to do next:", *(f"  {line}" for line in advice.splitlines())]
    else:
        lines.append(f"What to do next: look at `yamori check` and `yamori alerts` on {clean(note.host)}.")
    lines += ["", "-- ", f"yamori on {clean(note.host)}, sent {local_time(note.time)}"]
    return "\n".join(lines) + "\n"


def _headline(note: Notification) -> str:
    text = clean(note.message) or note.rule
    if note.kind is Kind.RECOVERY:
        return f"RECOVERED on {clean(note.host)}: {clean(note.subject)} is OK again (was {note.previous.label})."
    if note.kind is Kind.REPEAT:
        return f"STILL {note.state.label} on {clean(note.host)}: {text}"
    return f"{note.state.label} on {clean(note.host)}: {text}"


def _facts(note: Notification) -> list[str]:
    since = f"{local_time(note.since)} ({ago(note.time - note.since)} ago)"
    rows = [
        ("Host", clean(note.host)),
        ("Check", clean(note.rule)),
        ("Subject", clean(note.subject)),
        ("State", f"{note.state.label} (was {note.previous.label})"),
        ("Since", since),
    ]
    if note.kind is Kind.RECOVERY:
        rows.append(("Problem", clean(note.message)))
    return [f"{name + ':':<9}{value}" for name, value in rows]


def _test_body(note: Notification) -> str:
    return (
        f"This is a test message from yamori on {clean(note.host)}, sent {local_time(note.time)}.\n\n"
        "If you are reading it, alerts from this host reach you. Nothing is wrong.\n"
    )


def webhook_payload(note: Notification) -> dict[str, Any]:
    return {
        "host": note.host,
        "rule": note.rule,
        "subject": note.subject,
        "state": note.state.label,
        "previous": note.previous.label,
        "since": iso_time(note.since),
        "message": note.message,
        "advice": note.advice,
        "time": iso_time(note.time),
        "kind": str(note.kind),
        "id": note.message_id,
    }


def trial_notification(host: str, now: float | None = None) -> Notification:
    stamp = time.time() if now is None else now
    return Notification(host, "notify.test", host, Kind.TEST, State.OK, State.OK, stamp, stamp,
                        f"test message from yamori on {host}", "")
