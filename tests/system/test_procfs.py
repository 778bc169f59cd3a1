"""system/procfs.py: the same figures as psutil on this machine's /proc, located errors on bad input."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from yamori.records import ParseError
from yamori.system import procfs


def test_real_proc_agrees_with_psutil() -> None:
    proc = Path("/proc")
    memory = procfs.memory_figures(procfs.parse_meminfo((proc / "meminfo").read_text()))
    assert memory["total"] == psutil.virtual_memory().total
    assert abs(memory["percent"] - psutil.virtual_memory().percent) < 5
    _, booted = procfs.parse_stat((proc / "stat").read_text())
    assert booted == pytest.approx(psutil.boot_time(), abs=1)
    nics = procfs.parse_net_dev((proc / "net/dev").read_text())
    assert set(nics) == set(psutil.net_io_counters(pernic=True))
    disks = procfs.parse_diskstats((proc / "diskstats").read_text())
    theirs = psutil.disk_io_counters(perdisk=True)
    for name in set(disks) & set(theirs):
        assert disks[name]["read_bytes"] <= theirs[name].read_bytes + (1 << 30)
    mounts = {m for _, m, _ in procfs.parse_mounts((proc / "self/mounts").read_text(),
                                                   (proc / "filesystems").read_text())}
    assert mounts == {p.mountpoint for p in psutil.disk_partitions(all=False)}


def test_bad_lines_name_file_and_line() -> None:
    with pytest.raises(ParseError) as err:
        procfs.parse_diskstats("   8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n   8 1 sda1 1 2\n", "/x/diskstats")
    assert str(err.value) == "/x/diskstats:2: expected at least 14 fields, got 5"
    with pytest.raises(ParseError, match=r"^/x/stat:1: expected whole numbers$"):
        procfs.parse_stat("cpu 1 2 x\n", "/x/stat")
    with pytest.raises(ParseError, match="no MemTotal"):
        procfs.parse_meminfo("garbage\n", "/x/meminfo")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_text_parses_or_raises_a_located_error(text: str) -> None:
    for parse in (procfs.parse_diskstats, procfs.parse_net_dev, procfs.parse_meminfo, procfs.parse_stat):
        try:
            parse(text, "f")
        except ParseError as err:
            assert err.file == "f"
    procfs.parse_mounts(text, text)
