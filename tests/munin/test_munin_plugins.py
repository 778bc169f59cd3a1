"""Debian's munin-plugins-core run as yamori runs them: against this machine's /proc and
against the fixture /proc tree (bind-mounted over /proc in a private mount namespace: the
plugins read /proc by hard-coded paths), plus hanging and garbage-printing plugins that must
not stop the others, and the `yamori munin run --json` contract."""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from yamori.agent import default_rules
from yamori.cli import cli
from yamori.config import Settings
from yamori.munin.plugins import find_plugin
from yamori.munin.probe import MuninProbe, alert_rules, probes
from yamori.munin.runner import run
from yamori.probe import run_probe
from yamori.records import Finding, Sample

PLUGINS = Path("/usr/share/munin/plugins")
FIXTURE_PROC = Path(__file__).resolve().parents[1] / "fixtures" / "munin" / "proc"

pytestmark = pytest.mark.skipif(os.getuid() != 0,
                                reason="plugins run as nobody and /proc fixtures need a mount namespace: root")


@pytest.fixture(autouse=True)
def _plugins_installed() -> None:
    assert (PLUGINS / "cpu").exists(), "munin-plugins-core missing: scripts/system-deps.sh installs it"


def settings(tmp: Path, plugin_dir: Path, proc: Path = Path("/proc"), conf_dir: Path | None = None,
             **munin: Any) -> Settings:
    return Settings.model_validate({
        "agent": {"state_dir": str(tmp / "state"), "proc": str(proc), "hostname": "testhost"},
        "munin": {"plugin_dir": str(plugin_dir), **({"plugin_conf_dir": str(conf_dir)} if conf_dir else {}), **munin},
    })


def link_plugins(directory: Path, names: dict[str, str]) -> Path:
    directory.mkdir(mode=0o755, exist_ok=True)
    for name, source in names.items():
        (directory / name).symlink_to(PLUGINS / source)
    return directory


def write_plugin(directory: Path, name: str, body: str) -> Path:
    directory.mkdir(mode=0o755, exist_ok=True)
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def samples_of(records: list[Any]) -> dict[str, Sample]:
    return {r.metric: r for r in records if isinstance(r, Sample)}


def collect(probe: MuninProbe) -> list[Any]:
    return list(probe.collect())


def test_real_plugins_against_the_fixture_proc_tree(world_readable: Path) -> None:
    plugin_dir = link_plugins(world_readable / "plugins", {
        "cpu": "cpu", "load": "load", "memory": "memory", "uptime": "uptime", "if_fx0": "if_"})
    found = {p.name: p for p in probes(settings(world_readable, plugin_dir, FIXTURE_PROC))}
    assert set(found) == {"munin.cpu", "munin.load", "munin.memory", "munin.uptime", "munin.if_fx0"}
    load = samples_of(collect(found["munin.load"]))  # type: ignore[arg-type]
    assert load["munin_load_load"].value == 2.5  # the 5-minute average of the fixture's loadavg
    assert load["munin_load_load"].labels == {"host": "testhost", "plugin": "load", "field": "load"}
    assert samples_of(collect(found["munin.uptime"]))["munin_uptime_uptime"].value == 1.43  # type: ignore[arg-type]
    memory = samples_of(collect(found["munin.memory"]))  # type: ignore[arg-type]
    assert memory["munin_memory_free"].value == 2000000 * 1024
    assert memory["munin_memory_buffers"].value == 100000 * 1024
    # DERIVE fields need two readings: the first gives no sample, the raw value is kept
    cpu: MuninProbe = found["munin.cpu"]  # type: ignore[assignment]
    assert "munin_cpu_user" not in samples_of(collect(cpu))
    reading = cpu.reader.read()
    raw = {v.field: v.raw for v in reading.values}
    assert (raw["user"], raw["system"], raw["idle"], raw["steal"]) == (1000.0, 300.0, 40000.0, 7.0)
    assert all(v.value == 0.0 for v in reading.values)  # the fixture does not move: rate 0
    traffic = found["munin.if_fx0"].reader.read()  # type: ignore[attr-defined]
    assert {v.field: v.raw for v in traffic.values} == {"down": 123456789.0, "up": 987654321.0}


def test_real_plugins_against_this_machine(world_readable: Path) -> None:
    iface = next(p.name for p in sorted(Path("/sys/class/net").iterdir()) if p.name != "lo")
    plugin_dir = link_plugins(world_readable / "plugins", {
        "cpu": "cpu", "load": "load", "memory": "memory", "df": "df", f"if_{iface}": "if_"})
    found = {p.name: p for p in probes(settings(world_readable, plugin_dir, interval="5s"))}
    first = {name: samples_of(collect(p)) for name, p in found.items()}  # type: ignore[arg-type]
    loadavg = [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    assert 0 <= first["munin.load"]["munin_load_load"].value <= max(loadavg) + 5
    mem_total = int(Path("/proc/meminfo").read_text().split()[1]) * 1024
    assert 0 < first["munin.memory"]["munin_memory_free"].value < mem_total
    assert first["munin.df"] and all(0 <= s.value <= 100 for s in first["munin.df"].values())  # percent used
    time.sleep(1.2)
    second = {name: samples_of(collect(p)) for name, p in found.items()}  # type: ignore[arg-type]
    user = second["munin.cpu"]["munin_cpu_user"].value  # now a rate: jiffies per second
    assert 0 <= user <= 100 * os.cpu_count()  # type: ignore[operator]
    assert f"munin_if_{iface}_down" in second[f"munin.if_{iface}"]


def test_plugin_conf_wildcards_and_env_reach_the_plugin(world_readable: Path) -> None:
    plugin_dir = world_readable / "plugins"
    for name in ("fan_cpu", "fan_case"):
        write_plugin(plugin_dir, name, 'if [ "$1" = config ]; then echo "graph_title Fan"; echo "rpm.label rpm";'
                     ' echo "rpm.warning $WARN"; exit 0; fi\necho "rpm.value $RPM"\necho "# uid $(id -un)"\n')
    conf = world_readable / "conf.d"
    conf.mkdir()
    (conf / "fans").write_text("[fan_*]\nenv.RPM 1200\nenv.WARN 900:\nuser daemon\n[fan_case]\nenv.RPM 800\n"
                               "env RPM=1\n")
    s = settings(world_readable, plugin_dir, conf_dir=conf,
                 plugins=[{"path": str(plugin_dir / "fan_cpu"), "env": {"RPM": "1500"}}])
    found = {p.name: p for p in probes(s)}
    said = [(f.file, f.line, f.message[:21]) for f in found["munin.plugin_conf"].collect()]
    assert said == [(str(conf / "fans"), 7, "deprecated form 'env ")]
    assert samples_of(collect(found["munin.fan_cpu"]))["munin_fan_cpu_rpm"].value == 1500  # type: ignore[arg-type]
    assert samples_of(collect(found["munin.fan_case"]))["munin_fan_case_rpm"].value == 800  # type: ignore[arg-type]
    assert "# uid daemon" in run(find_plugin(s, "fan_case").invocation).stdout
    rules = {r.name: r for r in alert_rules(s)}
    assert {r.name for r in default_rules(s)} >= set(rules)  # the agent's rules include them
    assert rules["munin.fan_case.rpm.low"].warning == 900.0
    assert rules["munin.fan_case.rpm.low"].labels == {"plugin": "fan_case", "field": "rpm"}


def test_hanging_and_garbage_plugins_do_not_stop_the_others(world_readable: Path) -> None:
    plugin_dir = link_plugins(world_readable / "plugins", {"load": "load"})
    pidfile = world_readable / "child.pid"
    pidfile.touch(mode=0o666)
    pidfile.chmod(0o666)
    write_plugin(plugin_dir, "hang", f'sleep 300 &\necho $! > {pidfile}\nwait\n')
    write_plugin(plugin_dir, "garbage", 'if [ "$1" = config ]; then echo "graph_title G"; echo "a.label a";'
                 ' echo "a.label b"; echo "SELECT * FROM users;"; exit 0; fi\n'
                 'echo "a.value 4"\necho "<html>oops</html>"\necho "a.value x"\n')
    found = {p.name: p for p in probes(settings(world_readable, plugin_dir, timeout="1s"))}
    started = time.monotonic()

    async def everything() -> list[Any]:
        return list(await asyncio.gather(*(run_probe(p) for p in found.values())))

    results = {r.name: r for r in asyncio.run(everything())}
    assert time.monotonic() - started < 6  # config + fetch of the hanging one, 1 s each, in parallel
    assert results["munin.load"].samples and not results["munin.load"].findings
    hang = results["munin.hang"]
    assert any("killed after" in f.message for f in hang.findings), hang
    child = int(pidfile.read_text())
    time.sleep(0.2)
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]
    garbage = results["munin.garbage"]
    assert [s.value for s in garbage.samples] == [4.0]
    messages = sorted(f.message for f in garbage.findings if isinstance(f, Finding))
    assert messages == [
        "garbage config output line 4: not 'field.attribute value' nor 'graph_* value': 'SELECT * FROM users;'",
        "garbage fetch output line 2: not 'field.value N': '<html>oops</html>'",
        "garbage fetch output line 3: a.value: 'x' is not a number or U",
    ]
    assert all(f.subject == "munin plugin garbage" for f in garbage.findings)


def test_yamori_env_never_reaches_a_plugin(world_readable: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YAMORI_SMTP_PASSWORD", "s3cret")
    plugin_dir = world_readable / "plugins"
    write_plugin(plugin_dir, "leak", 'echo "# $(env)"\necho "x.value 1"\n')
    out = run(find_plugin(settings(world_readable, plugin_dir), "leak").invocation).stdout
    assert "s3cret" not in out and "MUNIN_PLUGSTATE" in out


def test_munin_run_json_contract(world_readable: Path) -> None:
    plugin_dir = link_plugins(world_readable / "plugins", {"load": "load", "cpu": "cpu"})
    config = world_readable / "yamori.toml"
    config.write_text(f'[agent]\nstate_dir = "{world_readable}/state"\nproc = "{FIXTURE_PROC}"\n'
                      f'[munin]\nplugin_dir = "{plugin_dir}"\n')
    result = CliRunner().invoke(cli, ["-c", str(config), "munin", "run", "load", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "plugin": "load", "graph": {"title": "Load average", "vlabel": "load", "category": "system"},
        "fields": [{"name": "load", "label": "load", "type": "GAUGE", "value": 2.5}]}
    by_path = CliRunner().invoke(cli, ["-c", str(config), "munin", "run", str(plugin_dir / "cpu"), "--json"])
    data = json.loads(by_path.stdout)
    assert data["plugin"] == "cpu" and {f["name"]: f["value"] for f in data["fields"]}["user"] == 1000.0
    missing = CliRunner().invoke(cli, ["-c", str(config), "munin", "run", "nosuch"])
    assert missing.exit_code == 2 and "nosuch: no such plugin" in missing.output


def test_yamori_check_runs_the_munin_probes(world_readable: Path) -> None:
    plugin_dir = link_plugins(world_readable / "plugins", {"load": "load"})
    write_plugin(plugin_dir, "broken", 'echo "this is not munin"\n')
    config = world_readable / "yamori.toml"
    config.write_text(f'[agent]\nstate_dir = "{world_readable}/state"\nproc = "{FIXTURE_PROC}"\n'
                      f'[munin]\nplugin_dir = "{plugin_dir}"\n')
    result = CliRunner().invoke(cli, ["-c", str(config), "check", "--json", "--only", "munin"])
    data = json.loads(result.stdout)
    states = {p["name"]: p["state"] for p in data["probes"]}
    assert states == {"munin.load": "OK", "munin.broken": "WARNING"}
    assert result.exit_code == 1


def test_a_field_over_its_critical_range_raises_an_alert(world_readable: Path) -> None:
    """The whole path: plugin config -> rules the agent loads -> probe sample -> alert."""
    from yamori.alerts.engine import Alerting
    from yamori.config.alerts import AlertsSettings
    from yamori.records import State

    plugin_dir = world_readable / "plugins"
    level = world_readable / "level"
    level.write_text("55\n")
    level.chmod(0o644)
    write_plugin(plugin_dir, "tank", 'if [ "$1" = config ]; then echo "graph_title Tank"; echo "level.label level";'
                 ' echo "level.warning 10:80"; echo "level.critical 5:90"; exit 0; fi\n'
                 f'echo "level.value $(cat {level})"\n')
    s = settings(world_readable, plugin_dir)
    engine = Alerting(AlertsSettings(), world_readable / "state", "testhost", default_rules=default_rules(s))
    probe = {p.name: p for p in probes(s)}["munin.tank"]
    try:
        for value, expected in (("55", []), ("95", [State.CRITICAL]), ("3", [State.OK, State.CRITICAL])):
            level.write_text(value + "\n")
            result = asyncio.run(run_probe(probe))
            changes = engine.observe(result)
            assert sorted(c.state for c in changes) == expected, (value, changes)
        assert {a.rule for a in engine.active()} == {"munin.tank.level.low"}
    finally:
        engine.close()
