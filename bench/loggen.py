#!/usr/bin/env python3
"""Write a synthetic PostgreSQL 15 stderr log for the guard's benches and tests.

The server it imitates runs with Debian's prefix `%m [%p] %q%u@%d `, UTC timestamps,
`log_connections` and `log_disconnections` on. A quarter of the sessions are failed logins
from a pool of internet sources (IPv4 and IPv6 documentation-style and public-looking
addresses); the rest are application sessions from a private LAN, with statements,
durations and a disconnection line, plus the checkpointer's periodic pair.

    loggen.py LINES OUT [--seed N]

The output is deterministic for a seed. The last line on stderr is JSON:
{"lines": physical lines written, "failures": authentication failures written,
 "by_kind": {...}} so a bench can check that every failure was found.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import TextIO

QUERIES = (
    "SELECT id, title, stock FROM products WHERE shop_id = 7 AND stock > 0 ORDER BY title LIMIT 30",
    "UPDATE sessions SET seen_at = now() WHERE token = 'c0ffee42'",
    "INSERT INTO events (kind, payload) VALUES ('view', '{\"page\": 3}') RETURNING id",
    "BEGIN",
    "COMMIT",
    "SELECT u.name, count(*) FROM users u JOIN posts p ON p.author = u.id GROUP BY u.name ORDER BY 2 DESC",
)
GUESSED_USERS = ("postgres", "admin", "root", "pgadmin", "test", "backup", "dbuser", "sa")
APP_LOGINS = (("www", "site"), ("worker", "site"), ("stats", "metrics"), ("postgres", "postgres"))


class Writer:
    """One log file being written: the clock, the PID counter and the tallies."""

    def __init__(self, out: TextIO, seed: int) -> None:
        self.out = out
        self.rnd = random.Random(seed)
        self.clock = datetime(2026, 11, 1, tzinfo=UTC)
        self.pid = 31000
        self.lines = 0
        self.kinds: Counter[str] = Counter()
        self.attackers = [self._public_v4() for _ in range(7000)] + [self._v6() for _ in range(3000)]
        self.lan = [f"192.168.{self.rnd.randrange(1, 4)}.{self.rnd.randrange(2, 250)}" for _ in range(150)]

    def _public_v4(self) -> str:
        first = self.rnd.choice([n for n in range(1, 224) if n not in (10, 100, 127, 169, 172, 192)])
        return ".".join(str(x) for x in (first, self.rnd.randrange(256), self.rnd.randrange(256),
                                          self.rnd.randrange(1, 255)))

    def _v6(self) -> str:
        groups = ":".join(f"{self.rnd.randrange(1, 0xffff):x}" for _ in range(3))
        return f"2001:db8:{groups}::{self.rnd.randrange(1, 0xffff):x}"

    def stamp(self) -> str:
        self.clock += timedelta(microseconds=self.rnd.randrange(100, 15000))
        return f"{self.clock:%Y-%m-%d %H:%M:%S}.{self.clock.microsecond // 1000:03d} UTC"

    def emit(self, pid: int, who: str, text: str) -> None:
        """One record; `who` is the `%q%u@%d ` part ("" for processes without a session)."""
        self.out.write(f"{self.stamp()} [{pid}] {who}{text}\n")
        self.lines += 1 + text.count("\n")

    def failed_login(self) -> None:
        self.pid += 1
        host, port = self.rnd.choice(self.attackers), self.rnd.randrange(1025, 65535)
        user = self.rnd.choice(GUESSED_USERS)
        db = self.rnd.choice(("postgres", user, "site"))
        self.emit(self.pid, "[unknown]@[unknown] ", f"LOG:  connection received: host={host} port={port}")
        who = f"{user}@{db} "
        enc = self.rnd.choice(("no encryption", "no encryption", "SSL encryption"))
        roll = self.rnd.random()
        if roll < 0.45:
            self.emit(self.pid, who, f'FATAL:  no pg_hba.conf entry for host "{host}", user "{user}", '
                                     f'database "{db}", {enc}')
            self.kinds["hba_no_entry"] += 1
        elif roll < 0.55:
            self.emit(self.pid, who, f'FATAL:  pg_hba.conf rejects connection for host "{host}", '
                                     f'user "{user}", database "{db}", {enc}')
            self.kinds["hba_reject"] += 1
        else:
            self.emit(self.pid, who, f'FATAL:  password authentication failed for user "{user}"')
            why = (f'Password does not match for user "{user}".' if self.rnd.random() < 0.6
                   else f'Role "{user}" does not exist.')
            self.emit(self.pid, who, f"DETAIL:  {why}\n\tConnection matched pg_hba.conf line 7: "
                                     '"host all all 0.0.0.0/0 scram-sha-256"')
            self.kinds["password_failed"] += 1

    def app_session(self) -> None:
        self.pid += 1
        host, port = self.rnd.choice(self.lan), self.rnd.randrange(1025, 65535)
        user, db = self.rnd.choice(APP_LOGINS)
        who = f"{user}@{db} "
        self.emit(self.pid, "[unknown]@[unknown] ", f"LOG:  connection received: host={host} port={port}")
        self.emit(self.pid, who, f"LOG:  connection authorized: user={user} database={db} application_name=app")
        for _ in range(self.rnd.randrange(1, 7)):
            query = self.rnd.choice(QUERIES)
            if self.rnd.random() < 0.65:
                self.emit(self.pid, who, f"LOG:  statement: {query}")
            else:
                self.emit(self.pid, who, f"LOG:  duration: {self.rnd.uniform(0.05, 1800):.3f} ms  statement: {query}")
        self.emit(self.pid, who, f"LOG:  disconnection: session time: 0:00:{self.rnd.randrange(60):02d}."
                                 f"{self.rnd.randrange(1000):03d} user={user} database={db} host={host} port={port}")

    def checkpoint(self) -> None:
        self.emit(640, "", "LOG:  checkpoint starting: time")
        self.emit(640, "", f"LOG:  checkpoint complete: wrote {self.rnd.randrange(1, 4000)} buffers "
                           f"({self.rnd.randrange(10)}.{self.rnd.randrange(10)}%); 0 WAL file(s) added, "
                           "0 removed, 2 recycled; write=26.912 s, sync=0.011 s, total=26.950 s; "
                           "sync files=37, longest=0.004 s, average=0.001 s; distance=2048 kB, estimate=2310 kB")


def generate(lines: int, out: TextIO, seed: int = 7) -> dict[str, object]:
    writer = Writer(out, seed)
    while writer.lines < lines:
        roll = writer.rnd.random()
        if roll < 0.25:
            writer.failed_login()
        elif roll < 0.27:
            writer.checkpoint()
        else:
            writer.app_session()
    return {"lines": writer.lines, "failures": sum(writer.kinds.values()), "by_kind": dict(writer.kinds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("lines", type=int)
    parser.add_argument("out")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with open(args.out, "w", encoding="utf-8") as out:
        counts = generate(args.lines, out, args.seed)
    print(json.dumps(counts), file=sys.stderr)


if __name__ == "__main__":
    main()
