"""The fast lane's regex shortcuts read exactly what the plain forms read: the factored template
alternation picks the same alternative, and the pair regex that also reads the records after a
failure gives the events and suspicions of the careful path on every shape of what follows."""

from __future__ import annotations

import random
import re

import pytest

from yamori.postgres.log.fastlane import factored
from yamori.postgres.log.prefix import DEBIAN_PREFIX
from yamori.postgres.log.stderr import StderrScanner, scan_stderr

TS = "2026-11-24 23:43:01.757 UTC"


def _alternatives(rnd: random.Random) -> list[tuple[str, str]]:
    """Leads that share runs, run out inside each other, or are empty; rests that overlap."""
    leads = ["", "a", "ab", "abc", "abd", "b", "ba", "pg_", "pg_hba", "pa"]
    rests = ["", "x", "x*", "(?:.*?)", "[ab]+", "c?"]
    return [(rnd.choice(leads), rnd.choice(rests)) for _ in range(rnd.randrange(1, 9))]


def test_factored_alternation_picks_the_same_alternative() -> None:
    rnd = random.Random(5)
    for _ in range(400):
        items = _alternatives(rnd)
        named = [(lead, f"(?P<t{i}>{rest})") for i, (lead, rest) in enumerate(items)]
        plain = re.compile("(?:" + "|".join(re.escape(lead) + rest for lead, rest in named) + ")(?P<end>z?)")
        fast = re.compile(f"(?:{factored(named, rnd.choice(['', 'ab', 'pb']))})(?P<end>z?)")
        for _ in range(40):
            text = "".join(rnd.choice("abcdpg_hxz") for _ in range(rnd.randrange(0, 9)))
            a, b = plain.fullmatch(text), fast.fullmatch(text)
            assert (a is None) == (b is None), (items, text)
            if a is not None and b is not None:
                assert a.lastgroup == b.lastgroup and a.groupdict() == b.groupdict(), (items, text)


def _head(pid: int, user: str = "u", db: str = "d") -> str:
    return f"{TS} [{pid}] {user}@{db} "


AFTER_SHAPES = [
    "",                                                            # nothing after: the end of the log
    "{h}DETAIL:  Role \"u\" does not exist.\n",
    "{h}DETAIL:  Password does not match for user \"u\".\n\tConnection matched line 4\n",
    "{h}DETAIL:  Role \"u\" does not exist.\n{h}HINT:  something\n",  # two secondary records
    "{o}DETAIL:  Role \"u\" does not exist.\n",                      # another backend's DETAIL
    "\tstray continuation\n",
    "{h}DETAIL:  \n",                                              # empty DETAIL
    "{h}DETAIL:  x\n\t\tdouble tab\n\t\n",
    "no prefix at all\n",
    "{h}DETAIL:  Role \"u\" does not exist.",                       # unterminated
    "{h}CONTEXT:  y\n{h}DETAIL:  Role \"u\" does not exist.\n",
    "{h}LOG:  disconnection\n",
]


@pytest.mark.parametrize("shape", range(len(AFTER_SHAPES)))
def test_what_follows_a_failure_is_read_like_the_careful_path(shape: int) -> None:
    rnd = random.Random(shape)
    parts: list[str] = []
    for n in range(60):
        pid = 100 + n
        host = f"198.51.100.{n % 7}"
        parts.append(f"{_head(pid, '[unknown]', '[unknown]')}LOG:  connection received: host={host} port=1\n")
        parts.append(_head(pid) + rnd.choice([
            'FATAL:  password authentication failed for user "u"\n',
            f'FATAL:  no pg_hba.conf entry for host "{host}", user "u", database "d", no encryption\n']))
        after = AFTER_SHAPES[shape] if rnd.random() < 0.7 else AFTER_SHAPES[rnd.randrange(len(AFTER_SHAPES))]
        parts.append(after.format(h=_head(pid), o=_head(pid + 1000)))
        if not parts[-1].endswith("\n") and n < 59:
            parts.append("\n")
    data = "".join(parts).encode()
    careful = scan_stderr(data, DEBIAN_PREFIX, fast=False)
    assert scan_stderr(data, DEBIAN_PREFIX) == careful
    # fed in pieces of whole lines (as LogReader does): failures whose next lines are not there yet
    scanner = StderrScanner(DEBIAN_PREFIX)
    events = []
    newlines = [i + 1 for i, c in enumerate(data) if c == 10 and i + 1 < len(data)]
    cuts = sorted(rnd.sample(newlines, 25))
    for lo, hi in zip([0, *cuts], [*cuts, len(data)], strict=True):
        piece = data[lo:hi]
        events += scanner.feed(piece, final=hi == len(data))
    assert (events, scanner.suspicions) == careful
