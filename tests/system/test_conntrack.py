"""conntrack: pure parsers on fixture text, the probe on fixture /proc trees, and the real kernel
table inside a throwaway network namespace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from tests.support.netns import netns, ns_run

from yamori.config import parse_config
from yamori.config.probes import ConntrackSettings
from yamori.probe import run_probe
from yamori.records import Severity, State
from yamori.system.conntrack import (
    ConntrackFormatError,
    ConntrackProbe,
    parse_number,
    parse_stat,
    probes,
    read_conntrack,
)

FIXTURES = Path(__file__).parent / "fixtures"
# /proc/net/stat/nf_conntrack as a 6.x kernel writes it (two CPUs); `entries` repeats the global
# count on every CPU row.
STAT_6X = (FIXTURES / "nf_conntrack-6.x.txt").read_text()
# A 4.x kernel: other columns (searched, delete_list), the same names for what we read.
STAT_4X = (FIXTURES / "nf_conntrack-4.x.txt").read_text()


def write_proc(root: Path, count: int, limit: int, stat: str | None = STAT_6X) -> Path:
    netfilter = root / "sys" / "net" / "netfilter"
    netfilter.mkdir(parents=True, exist_ok=True)
    (netfilter / "nf_conntrack_count").write_text(f"{count}\n")
    (netfilter / "nf_conntrack_max").write_text(f"{limit}\n")
    if stat is not None:
        (root / "net" / "stat").mkdir(parents=True, exist_ok=True)
        (root / "net" / "stat" / "nf_conntrack").write_text(stat)
    return root


def test_parse_stat_sums_counters_by_name() -> None:
    totals = parse_stat(STAT_6X)
    assert (totals["drop"], totals["early_drop"], totals["insert_failed"]) == (0x1F, 7, 3)
    assert totals["entries"] == 800  # the global count, not 2 x 800
    assert totals["found"] == 0x1A and totals["clashres"] == 1
    assert parse_stat(STAT_4X)["drop"] == 255


def test_parse_stat_errors_name_file_and_line() -> None:
    with pytest.raises(ConntrackFormatError, match=r"^/proc/net/stat/nf_conntrack:3: expected 17 columns, got 2$"):
        parse_stat(STAT_4X + "0000 0001\n", "/proc/net/stat/nf_conntrack")
    with pytest.raises(ConntrackFormatError, match=r":2: expected hexadecimal"):
        parse_stat("entries drop\n0000000z 00000001\n")
    with pytest.raises(ConntrackFormatError, match="empty file"):
        parse_stat("\n")
    with pytest.raises(ConntrackFormatError, match="nf_conntrack_max: expected a number, got 'lots'"):
        parse_number("lots\n", "nf_conntrack_max")


def test_read_conntrack_fixture_tree(tmp_path: Path) -> None:
    usage = read_conntrack(write_proc(tmp_path, 640, 800))
    assert usage is not None
    assert (usage.entries, usage.max, usage.used_percent) == (640, 800, 80.0)
    assert usage.stats is not None and usage.stats["drop"] == 0x1F


def test_read_conntrack_without_module_or_stats(tmp_path: Path) -> None:
    assert read_conntrack(tmp_path) is None  # nf_conntrack not loaded
    usage = read_conntrack(write_proc(tmp_path, 10, 100, stat=None))
    assert usage is not None and usage.stats is None


async def test_broken_stat_file_keeps_the_count(tmp_path: Path) -> None:
    write_proc(tmp_path, 10, 100, stat="entries drop\nxyz\n")
    result = await run_probe(ConntrackProbe(ConntrackSettings(), tmp_path))
    assert result.state is State.OK
    assert {s.metric: s.value for s in result.samples}["conntrack_entries"] == 10
    [note] = result.findings
    assert note.check == "conntrack.unreadable" and "nf_conntrack:2" in note.message


@pytest.mark.parametrize(("count", "state"), [
    (639, State.OK),          # 79.9%
    (640, State.WARNING),     # 80%: incident 6's router (800 sessions) at its peak
    (759, State.WARNING),
    (760, State.CRITICAL),    # 95%
    (800, State.CRITICAL),
])
async def test_thresholds_on_incident_6_router(tmp_path: Path, count: int, state: State) -> None:
    result = await run_probe(ConntrackProbe(ConntrackSettings(), write_proc(tmp_path, count, 800)))
    assert result.state is state
    values = {s.metric: s.value for s in result.samples}
    assert values["conntrack_entries"] == count and values["conntrack_max"] == 800
    assert values["conntrack_used_percent"] == pytest.approx(count / 8)
    assert values["conntrack_drops_total"] == 0x1F
    if state is not State.OK:
        [finding] = result.findings
        assert finding.check == "conntrack.table_full" and finding.subject == "nf_conntrack"
        assert f"{count} of 800 entries" in finding.message
        assert "net.netfilter.nf_conntrack_max" in finding.advice and "conntrack -L" in finding.advice


async def test_thresholds_come_from_settings(tmp_path: Path) -> None:
    settings = ConntrackSettings(warning_percent=50, critical_percent=60)
    result = await run_probe(ConntrackProbe(settings, write_proc(tmp_path, 500, 800)))
    assert result.state is State.CRITICAL


async def test_new_drops_between_runs_warn(tmp_path: Path) -> None:
    probe = ConntrackProbe(ConntrackSettings(), write_proc(tmp_path, 100, 800))
    assert (await run_probe(probe)).state is State.OK  # old drops since boot: no news
    write_proc(tmp_path, 100, 800, STAT_6X.replace("00000010 00000003", "00000030 00000003", 1))
    result = await run_probe(probe)
    [finding] = result.findings
    assert (finding.check, finding.severity) == ("conntrack.dropping", Severity.WARNING)
    assert "dropped or evicted 32 tracked connections" in finding.message


async def test_module_unloaded_after_start_is_unknown(tmp_path: Path) -> None:
    probe = ConntrackProbe(ConntrackSettings(), tmp_path)
    result = await run_probe(probe)
    assert result.state is State.UNKNOWN and "nf_conntrack" in result.reason


def test_factory(tmp_path: Path) -> None:
    missing = parse_config(f'[agent]\nproc = "{tmp_path}"\n')
    assert probes(missing) == []  # module not loaded: no probe at all
    write_proc(tmp_path, 1, 100)
    [probe] = probes(parse_config(f'[agent]\nproc = "{tmp_path}"\n[probes.conntrack]\ninterval = "20s"\n'))
    assert (probe.name, probe.interval) == ("conntrack", 20.0)
    assert probes(parse_config(f'[agent]\nproc = "{tmp_path}"\n[probes.conntrack]\nenabled = false\n')) == []


def test_real_proc() -> None:
    usage = read_conntrack(Path("/proc"))
    if usage is None and os.geteuid() == 0:
        subprocess.run(["modprobe", "nf_conntrack"], capture_output=True, check=False)
        usage = read_conntrack(Path("/proc"))
    if usage is None:
        pytest.skip("nf_conntrack is not loaded and `modprobe nf_conntrack` could not load it (a kernel "
                    "without the module, or not root): the fixture tests above cover the parsing")
    assert usage.max > 0 and 0 <= usage.entries <= usage.max
    assert usage.stats is not None and {"drop", "early_drop", "insert_failed"} <= usage.stats.keys()


# Runs inside the namespace: 20 loopback TCP connections that a `ct state` rule makes the kernel
# track, then the probe reads the namespace's own table.
IN_NAMESPACE = textwrap.dedent("""
    import json, socket
    from pathlib import Path
    from yamori.config.probes import ConntrackSettings
    from yamori.system.conntrack import ConntrackProbe
    server = socket.create_server(("127.0.0.1", 0), backlog=64)
    clients = [socket.create_connection(server.getsockname(), timeout=5) for _ in range(20)]
    accepted = [server.accept()[0] for _ in clients]
    records = ConntrackProbe(ConntrackSettings(), Path("/proc")).collect()
    print(json.dumps({r.metric: r.value for r in records if hasattr(r, "metric")}))
""")
NFT_TRACK = "table inet yamori_test {\n chain input {\n  type filter hook input priority 0;\n" \
            "  ct state established,related accept\n }\n}\n"


def test_real_kernel_table_in_a_namespace() -> None:
    # no precondition: a `ct` rule makes the kernel load nf_conntrack itself
    with netns("ymr-ct") as ns:
        ns_run(ns, "nft", "-f", "-", input=NFT_TRACK)
        output = ns_run(ns, sys.executable, "-c", IN_NAMESPACE).stdout
    values = json.loads(output)
    assert values["conntrack_entries"] >= 20
    assert values["conntrack_max"] > 0
    expected = values["conntrack_entries"] / values["conntrack_max"] * 100
    assert values["conntrack_used_percent"] == pytest.approx(expected)
