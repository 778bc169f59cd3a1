"""The tailer: rotation by rename+create and by copytruncate, partial lines, restarts, backlog."""

from __future__ import annotations

import os
from pathlib import Path

from yamori.guard.tail import Tailer


def read(t: Tailer) -> list[str]:
    return [line for c in t.poll() for line in c.data.decode().splitlines()]


def append(path: Path, text: str) -> None:
    with open(path, "a") as f:
        f.write(text)


def test_rename_and_create_keeps_every_line_once(tmp_path: Path) -> None:
    log = tmp_path / "postgresql.log"
    log.write_text("1\n2\n")
    t = Tailer([str(tmp_path / "postgresql.log*")], tmp_path / "state")
    assert read(t) == ["1", "2"]
    append(log, "3\n")
    os.rename(log, tmp_path / "postgresql.log.1")       # logrotate: the old file keeps its inode
    append(tmp_path / "postgresql.log.1", "4\n")        # a late write to the renamed file
    log.write_text("5\n")                               # the new file under the old name
    assert sorted(read(t)) == ["3", "4", "5"]
    assert read(t) == []


def test_copytruncate_and_partial_lines(tmp_path: Path) -> None:
    log = tmp_path / "pg.log"
    log.write_text("a\nb\npart")
    t = Tailer([str(log)], tmp_path / "state")
    assert read(t) == ["a", "b"]
    append(log, "ial\n")
    assert read(t) == ["partial"]
    log.write_text("")                                  # copytruncate
    assert read(t) == []
    append(log, "c\n")
    assert read(t) == ["c"]


def test_restart_resumes_without_loss_or_repeat(tmp_path: Path) -> None:
    log = tmp_path / "pg.log"
    log.write_text("x" * 300 + "\n1\n")
    t = Tailer([str(log)], tmp_path / "state")
    assert len(read(t)) == 2
    t.save()
    append(log, "2\n")                                  # written while the agent was down
    t2 = Tailer([str(log)], tmp_path / "state")
    assert not t2.first_start
    assert read(t2) == ["2"]
    t2.save()
    # same inode, different head (the file was replaced in place): read again from the start
    log.write_text("y" * 300 + "\n3\n4\n")
    assert read(Tailer([str(log)], tmp_path / "state")) == ["y" * 300, "3", "4"]


def test_first_start_skips_files_older_than_the_backlog(tmp_path: Path) -> None:
    old = tmp_path / "postgresql-Mon.log"
    old.write_text("old\n")
    os.utime(old, (1_000_000, 1_000_000))
    new = tmp_path / "postgresql-Tue.log"
    new.write_text("new\n")
    t = Tailer([str(tmp_path / "postgresql-*.log")], tmp_path / "state", backlog=86400)
    assert read(t) == ["new"]
    append(old, "later\n")
    assert read(t) == ["later"]
