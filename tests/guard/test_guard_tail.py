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


# -- issue 9, item 7: blinding ---------------------------------------------------------------

def test_a_line_longer_than_the_read_buffer_is_skipped_and_reading_goes_on(tmp_path: Path) -> None:
    from yamori.guard import tail

    log = tmp_path / "pg.log"
    log.write_bytes(b"before\n" + b"S" * (3 * tail.READ_MAX + 17) + b"\nafter\n")
    t = Tailer([str(log)], tmp_path / "state")
    got: list[str] = []
    for _ in range(10):   # bounded: each poll reads at most READ_MAX
        got += read(t)
        if not t.behind:
            break
    assert got == ["before", "after"]
    assert any("longer than" in p for p in t.problems)
    append(log, "later\n")
    assert read(t) == ["later"]


def test_fifos_and_symlinks_out_of_the_directory_are_skipped_and_said(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "postgresql-1.log").write_text("real\n")
    os.mkfifo(logs / "postgresql-2.log")                       # would block open() forever
    secret = tmp_path / "secret.txt"
    secret.write_text("not a log\n")
    (logs / "postgresql-3.log").symlink_to(secret)              # out of the log directory
    (logs / "postgresql-4.log").symlink_to(logs / "postgresql-1.log")   # inside: followed
    t = Tailer([str(logs / "postgresql-*.log")], tmp_path / "state")
    assert read(t) == ["real"]                                  # (the in-directory link is the same inode)
    skipped = "\n".join(t.problems)
    assert "postgresql-2.log: skipped: not a regular file" in skipped
    assert "postgresql-3.log: skipped: a symbolic link out of its directory" in skipped
    assert "postgresql-4.log" not in skipped


def test_corrupt_positions_are_kept_aside_and_reported(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    (state / "guard-positions.json").write_text("{not json")
    t = Tailer([str(tmp_path / "none*.log")], state)
    assert t.positions == {} and len(t.problems) == 1
    assert "kept aside as guard-positions.json.corrupt-" in t.problems[0]
    assert [p.name for p in state.iterdir() if ".corrupt-" in p.name]


# -- issue 9, item 2: rotation storm with Debian's real logrotate ------------------------------

def _logrotate(tmp: Path, log: Path, how: str) -> None:
    import shutil
    import subprocess

    import pytest

    exe = shutil.which("logrotate") or "/usr/sbin/logrotate"
    if not os.path.exists(exe):
        pytest.fail("logrotate is not installed (scripts/system-deps.sh installs it)")
    conf = tmp / f"logrotate-{how}.conf"
    conf.write_text(f"{log} {{\n  rotate 20\n  {how}\n  missingok\n  compress\n  delaycompress\n}}\n")
    subprocess.run([exe, "--force", "--state", str(tmp / "logrotate.state"), str(conf)], check=True,
                   capture_output=True, timeout=60)


def test_rotation_storm_with_logrotate_reads_every_line_once(tmp_path: Path) -> None:
    """Bursts of numbered lines; between them Debian's logrotate (copytruncate as postgresql-common
    does, and create), a partial last line, a restart, a 'SIGKILL' (the tailer dropped after its
    last save): every line is read exactly once, the compressed rotations never."""
    log = tmp_path / "postgresql-15-main.log"
    log.write_text("")
    state = tmp_path / "state"
    t = Tailer([str(tmp_path / "postgresql-15-main.log*")], state)
    got: list[int] = []
    n = 0

    def burst(count: int, partial: bool = False) -> None:
        nonlocal n
        with open(log, "a") as f:
            for _ in range(count):
                f.write(f"2026-12-06 20:00:00.000 UTC [{n}] line {n}\n")
                n += 1
            if partial:
                f.write(f"2026-12-06 20:00:00.000 UTC [{n}] li")

    def finish_partial() -> None:
        nonlocal n
        with open(log, "a") as f:
            f.write(f"ne {n}\n")
        n += 1

    def poll(tailer: Tailer) -> None:
        for _ in range(20):
            for c in tailer.poll():
                got.extend(int(line.rsplit(" ", 1)[1]) for line in c.data.decode().splitlines())
            tailer.save()
            if not tailer.behind:
                return

    for step in range(12):
        burst(50, partial=step % 4 == 1)
        poll(t)
        if step % 4 == 1:
            finish_partial()
        burst(30)                        # written, not yet read, when the rotation comes
        _logrotate(tmp_path, log, "copytruncate" if step % 2 == 0 else "create")
        if not log.exists():
            log.write_text("")
        if step % 3 == 2:
            t = Tailer([str(tmp_path / "postgresql-15-main.log*")], state)   # a restart (or a SIGKILL after a save)
        burst(20)
        poll(t)
    poll(t)
    assert sorted(got) == list(range(n)), (len(got), n)
    assert len(got) == len(set(got))
    assert any(p.name.endswith(".gz") for p in tmp_path.iterdir())   # compressed rotations existed
