"""`log_line_prefix` compiled to a regular expression, and PostgreSQL log timestamps.

Every `%` escape of PostgreSQL 9.6 to 18 is known. The fields a client chooses (%u user, %d
database, %a application name) are captured as free text; callers resolve what they captured
against the message (see yamori.postgres.log) rather than trusting one parse.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ...records import ParseError, ParseProblem

DEBIAN_PREFIX = "%m [%p] %q%u@%d "

_TS = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
_ZONE = r"(?: [A-Za-z][A-Za-z0-9_/+\-]*| [+\-]\d\d(?::?\d\d)?)?"
FREE = frozenset("uda")   # attacker-chosen

# escape -> (group name, regex); None name = matched but not captured
_ESCAPES: dict[str, tuple[str | None, str]] = {
    "a": ("a", ".*?"),
    "u": ("u", ".*?"),
    "d": ("d", ".*?"),
    "r": ("r", r"\[local\]|[^\s()]+(?:\(\d+\))?|"),
    "h": ("h", r"\[local\]|[^\s()]*"),
    "L": ("L", r"[0-9A-Fa-f:.]*|\[none\]"),
    "b": ("b", r"[a-z][a-z ]*?|"),
    "p": ("p", r"\d+"),
    "P": ("P", r"\d*"),
    "t": ("t", _TS + _ZONE),
    "m": ("m", _TS + r"\.\d{3}" + _ZONE),
    "n": ("n", r"\d+\.\d{3}"),
    "i": ("i", r"[^\[\]]*?"),
    "e": ("e", r"[0-9A-Z]{5}"),
    "c": ("c", r"[0-9a-f]+\.[0-9a-f]+"),
    "l": ("l", r"\d+"),
    "s": ("s", _TS + _ZONE),
    "v": ("v", r"[^\s]*?"),
    "x": ("x", r"\d*"),
    "Q": ("Q", r"-?\d*"),
}


class PrefixError(ParseError):
    """A log_line_prefix that cannot be read (field `log_line_prefix`; the file is the caller's)."""

    def __init__(self, message: str, file: str = "") -> None:
        super().__init__(ParseProblem(file, None, message, field="log_line_prefix"))


@dataclass(frozen=True, slots=True)
class Prefix:
    """A compiled `log_line_prefix`: `pattern` is regex text with named groups."""

    text: str
    pattern: str
    escapes: frozenset[str]
    session: frozenset[str] = frozenset()   # the groups after %q

    def session_missing(self, groups: Mapping[str, str | None]) -> bool:
        """The reading leaves out what follows %q, as only a non-session process writes it. Every
        authentication failure comes from a backend, a session process, which always writes it."""
        return bool(self.session) and all(groups.get(name) is None for name in self.session)

    def with_values(self, values: dict[str, str]) -> re.Pattern[str]:
        """The prefix with the free fields pinned to exact values (to verify one reading)."""
        return re.compile(compile_prefix_pattern(self.text, values), re.DOTALL)


def compile_prefix_pattern(text: str, pinned: dict[str, str] | None = None, free: str | None = None,
                           session: bool = False) -> str:
    """Regex text for a log_line_prefix. `%q` makes the rest optional (non-session processes);
    with `session`, the rest is required (a record of a backend, such as every auth failure)."""
    out: list[str] = []
    optional = False
    seen: set[str] = set()
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "%":
            out.append(re.escape(ch))
            i += 1
            continue
        m = re.compile(r"%(-?\d*)(.)").match(text, i)
        if not m:
            out.append("%")
            break
        pad, esc = m.group(1), m.group(2)
        i = m.end()
        if esc == "%":
            out.append("%")
            continue
        if esc == "q":
            out.append("(?:")
            optional = True
            continue
        if esc not in _ESCAPES:
            raise PrefixError(f"{text!r}: unknown escape %{esc}")
        name, rx = _ESCAPES[esc]
        if pinned is not None and esc in pinned:
            rx = re.escape(pinned[esc])
        elif free is not None and esc in FREE:
            rx = free
        group = f"(?P<{name}>{rx})" if name not in seen else f"(?:{rx})"
        seen.add(esc)
        out.append(f" *{group} *" if pad else group)
    if optional:
        out.append(")" if session else ")?")
    return "".join(out)


def compile_prefix(text: str) -> Prefix:
    pattern = compile_prefix_pattern(text)
    re.compile(pattern)
    escapes = frozenset(m.group(1) for m in re.finditer(r"%-?\d*([a-zA-Z])", text))
    after_q = text.split("%q", 1)[1] if "%q" in text.replace("%%", "") else ""
    session = frozenset(m.group(1) for m in re.finditer(r"%-?\d*([a-zA-Z])", after_q) if m.group(1) in _ESCAPES)
    return Prefix(text, pattern, escapes, session)


# -- timestamps -------------------------------------------------------------------------------

_FIXED = {"UTC": 0, "GMT": 0, "Z": 0, "UCT": 0, "JST": 9, "KST": 9, "CET": 1, "CEST": 2, "EET": 2,
          "EEST": 3, "WET": 0, "WEST": 1, "BST": 1, "MSK": 3, "IST": 5.5, "EST": -5, "EDT": -4,
          "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "AEST": 10, "AEDT": 11}
_TS_RX = re.compile(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d(?:\.\d+)?)"
                    r"(?: ([A-Za-z][A-Za-z0-9_/+\-]*|[+\-]\d\d(?::?\d\d)?))?$")


def iso_time(text: str | None, log_timezone: str | None = None) -> str | None:
    """'2026-11-24 23:43:01.757 UTC' -> '2026-11-24T23:43:01.757+00:00'.

    %m/%t print a zone abbreviation; a known abbreviation or `log_timezone` resolves it, otherwise
    the time is returned without an offset rather than guessed."""
    if not text:
        return None
    m = _TS_RX.match(text.strip())
    if not m:
        if re.fullmatch(r"\d+\.\d{3}", text.strip()):   # %n: epoch seconds
            return datetime.fromtimestamp(float(text), UTC).isoformat(timespec="milliseconds")
        return None
    date, clock, zone = m.groups()
    try:
        naive = datetime.fromisoformat(f"{date}T{clock}")
    except ValueError:
        return None
    spec = "milliseconds" if "." in clock else "seconds"
    tz = _zone(zone, log_timezone)
    if tz is None:
        return naive.isoformat(timespec=spec)
    return naive.replace(tzinfo=tz).isoformat(timespec=spec)


def _zone(abbrev: str | None, log_timezone: str | None) -> timezone | ZoneInfo | None:
    if abbrev and abbrev[0] in "+-":
        sign = -1 if abbrev[0] == "-" else 1
        digits = abbrev[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            return None   # no such offset (a forged `+99`): the time is given without one
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    if log_timezone:
        try:
            return ZoneInfo(log_timezone)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    if abbrev in _FIXED:
        return timezone(timedelta(hours=_FIXED[abbrev]))
    return None
