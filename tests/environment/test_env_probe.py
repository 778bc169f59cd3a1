"""The environment probe against real sources: an aiohttp server on 127.0.0.1, files, commands,
hwmon trees; garbage and hostile answers become located warnings, never a crash."""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from click.testing import CliRunner

from yamori.cli import cli
from yamori.config import parse_config
from yamori.config.environment import EnvironmentSettings, SensorEntry
from yamori.environment.probe import EnvironmentProbe, probes
from yamori.records import Finding, Sample, Severity

ANSWERS: dict[str, tuple[int, bytes]] = {
    "/ok": (200, b'{"temperature": 22.5, "humidity": 40}'),
    "/humid": (200, b'{"temperature": 27.0, "humidity": 60.0}'),
    "/nested": (200, b'{"sensors": {"t": "24.0", "rh": 45}}'),
    "/html": (200, b"<html><body>502 Bad Gateway</body></html>"),
    "/huge": (200, b'{"temperature": 22, "humidity": 40, "pad": "' + b"x" * 200_000 + b'"}'),
    "/nan": (200, b'{"temperature": NaN, "humidity": 40}'),
    "/bool": (200, b'{"temperature": true, "humidity": 40}'),
    "/list": (200, b"[22, 40]"),
    "/deep": (200, b"[" * 50_000 + b"]" * 50_000),
    "/latin1": (200, b'{"temperature": 22, "humidity": "\xff\xfe"}'),
    "/err": (503, b"busy"),
}


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A real HTTP server on a free loopback port, in its own thread and loop."""
    async def handle(request: web.Request) -> web.Response:
        if request.path == "/slow":
            await asyncio.sleep(5)
        status, body = ANSWERS.get(request.path, (404, b"no"))
        return web.Response(status=status, body=body, content_type="application/json")

    loop = asyncio.new_event_loop()
    ready = threading.Event()
    port: list[int] = []
    runner_box: list[web.AppRunner] = []

    async def start() -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", handle)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port.append(runner.addresses[0][1])
        runner_box.append(runner)
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    assert ready.wait(10)
    yield f"http://127.0.0.1:{port[0]}"
    asyncio.run_coroutine_threadsafe(runner_box[0].cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def _settings(sensors: list[dict[str, object]], **extra: object) -> EnvironmentSettings:
    return EnvironmentSettings.model_validate({"sensors": sensors, **extra})


def _run(settings: EnvironmentSettings, sys_root: Path | None = None) -> list[Finding | Sample]:
    return asyncio.run(EnvironmentProbe(settings, sys_root).collect_async())


def _findings(records: list[Finding | Sample]) -> dict[str, Finding]:
    return {r.subject: r for r in records if isinstance(r, Finding)}


def test_http_json_sensor_inside_and_outside(server: str) -> None:
    records = _run(_settings([
        {"name": "rack1-inlet", "kind": "http-json", "url": f"{server}/ok", "rack": "rack1"},
        {"name": "rack2-inlet", "kind": "http-json", "url": f"{server}/humid", "rack": "rack2"},
        {"name": "rack3-inlet", "kind": "http-json", "url": f"{server}/nested", "temperature_key": "sensors.t",
         "humidity_key": "sensors.rh"},
    ], **{"class": "A2"}))
    dew = {s.labels["sensor"]: s.value for s in records
           if isinstance(s, Sample) and s.metric == "env_dew_point_celsius"}
    assert dew["rack2-inlet"] == pytest.approx(18.57, abs=0.02)
    assert set(dew) == {"rack1-inlet", "rack2-inlet", "rack3-inlet"}
    rack = {s.labels.get("rack") for s in records if isinstance(s, Sample)}
    assert rack == {"rack1", "rack2", None}
    findings = _findings(records)
    assert set(findings) == {"rack2-inlet"}
    finding = findings["rack2-inlet"]
    assert (finding.check, finding.severity) == ("env.envelope", Severity.WARNING)
    assert "27.0 °C" in finding.message and "RH 60 %" in finding.message and "dew point 18.6 °C" in finding.message


@pytest.mark.parametrize("path", ["/html", "/huge", "/nan", "/bool", "/list", "/deep", "/latin1", "/err",
                                  "/missing", "/slow"])
def test_garbage_from_http_is_a_located_warning(server: str, path: str) -> None:
    url = f"{server}{path}"
    records = _run(_settings([{"name": "junk", "kind": "http-json", "url": url}], timeout="1s"))
    assert not [r for r in records if isinstance(r, Sample)]
    finding = _findings(records)["junk"]
    assert (finding.check, finding.severity) == ("env.sensor_unreadable", Severity.WARNING)
    assert finding.message.startswith(f"sensor junk (GET {url}): ")


def test_refused_connection_is_a_warning() -> None:
    records = _run(_settings([{"name": "gone", "kind": "http-json", "url": "http://127.0.0.1:9/x"}]))
    assert _findings(records)["gone"].check == "env.sensor_unreadable"


def test_file_sensor(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text('{"t": 35.5, "h": 20}')
    bad.write_text('{"temperature": 22, "humidity": "wet"}')
    records = _run(_settings([
        {"name": "hot", "kind": "file", "path": str(good), "temperature_key": "t", "humidity_key": "h"},
        {"name": "bad", "kind": "file", "path": str(bad)},
        {"name": "absent", "kind": "file", "path": str(tmp_path / "nope.json")},
    ]))
    findings = _findings(records)
    assert findings["hot"].severity == Severity.CRITICAL  # 35.5 °C is over A1's allowable 32 °C
    assert "temperature 35.5 °C above 32 °C" in findings["hot"].message
    assert findings["bad"].message == f"sensor bad (file {bad}): humidity: expected a number, got 'wet'"
    assert findings["bad"].file == str(bad)
    assert "No such file or directory" in findings["absent"].message


def test_command_sensor(tmp_path: Path) -> None:
    script = tmp_path / "sensor.py"
    script.write_text("import json, sys\nprint(json.dumps({'temperature': 21.0, 'humidity': 85.0}))\n")
    records = _run(_settings([
        {"name": "cmd", "kind": "command", "command": [sys.executable, str(script)]},
        {"name": "fails", "kind": "command", "command": f"{sys.executable} -c 'import sys; sys.exit(\"no sensor\")'"},
        {"name": "noise", "kind": "command", "command": [sys.executable, "-c", "print('x' * 100000)"]},
        {"name": "hangs", "kind": "command", "command": [sys.executable, "-c", "import time; time.sleep(30)"]},
    ], timeout="1s"))
    findings = _findings(records)
    assert findings["cmd"].check == "env.envelope" and findings["cmd"].severity == Severity.CRITICAL
    assert "RH 85 %" in findings["cmd"].message
    assert findings["fails"].message.endswith("exited with status 1: no sensor")
    assert "more than 65536 bytes" in findings["noise"].message
    assert "no answer within 1s" in findings["hangs"].message


def _chip(root: Path, n: int, name: str, attributes: dict[str, str]) -> None:
    folder = root / "class" / "hwmon" / f"hwmon{n}"
    folder.mkdir(parents=True)
    (folder / "name").write_text(name + "\n")
    for key, value in attributes.items():
        (folder / key).write_text(value + "\n")


def test_hwmon_humidity_sensor(tmp_path: Path) -> None:
    _chip(tmp_path, 0, "coretemp", {"temp1_input": "45000"})
    _chip(tmp_path, 1, "sht3x", {"temp1_input": "26500", "humidity1_input": "72000"})
    _chip(tmp_path, 2, "hdc2010", {"temp1_input": "garbage", "humidity1_input": "40000"})
    settings = parse_config(f'[agent]\nsys = "{tmp_path}"\n')
    (probe,) = probes(settings)
    records = _run(probe.settings, tmp_path)  # type: ignore[attr-defined]
    findings = _findings(records)
    assert findings["sht3x-hwmon1"].check == "env.envelope"
    assert "RH 72 %" in findings["sht3x-hwmon1"].message
    assert findings["hdc2010-hwmon2"].check == "env.sensor_unreadable"
    assert not any(f.startswith("coretemp") for f in findings)


def test_no_sensor_no_probe(tmp_path: Path) -> None:
    assert probes(parse_config(f'[agent]\nsys = "{tmp_path}"\n')) == []


def test_check_cli_only_environment(tmp_path: Path, server: str) -> None:
    reading = tmp_path / "inlet.json"
    reading.write_text(json.dumps({"temperature": 27.0, "humidity": 60.0}))
    config = tmp_path / "yamori.toml"
    config.write_text(f'[agent]\nsys = "{tmp_path}"\n[environment]\nclass = "A1"\n'
                      f'[[environment.sensors]]\nname = "inlet"\nkind = "file"\npath = "{reading}"\n'
                      f'[[environment.sensors]]\nname = "web"\nkind = "http-json"\nurl = "{server}/ok"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "check", "--json", "--only", "environment"])
    assert result.exit_code == 2, result.output
    data = json.loads(result.output)
    (finding,) = data["findings"]
    assert (finding["probe"], finding["check"], finding["subject"]) == ("environment", "env.envelope", "inlet")
    assert "dew point 18.6 °C" in finding["message"]


@pytest.mark.parametrize(("toml", "where"), [
    ('[[environment.sensors]]\nname = "x"\nkind = "file"\n', "environment.sensors[0]"),
    ('[[environment.sensors]]\nname = "x y"\nkind = "file"\npath = "/x"\n', "environment.sensors[0].name"),
    ('[environment]\nclass = "A5"\n', "environment.class"),
    ('[[environment.sensors]]\nname = "x"\nkind = "http-json"\nurl = "file:///etc/passwd"\n', "environment.sensors[0]"),
])
def test_config_errors_are_located(toml: str, where: str) -> None:
    from yamori.config import ConfigError

    with pytest.raises(ConfigError) as err:
        parse_config(toml, "y.toml")
    assert where in str(err.value)
    assert "y.toml:" in str(err.value)


def test_sensor_entry_defaults() -> None:
    entry = SensorEntry.model_validate({"name": "a", "kind": "file", "path": "/x"})
    assert (entry.temperature_key, entry.humidity_key) == ("temperature", "humidity")


def test_parser_raises_the_located_error() -> None:
    from yamori.environment.sensors import parse_sensor_json
    from yamori.records import ParseError

    with pytest.raises(ParseError) as err:
        parse_sensor_json('{"temperature": 20,\n "humidity": }', source="/run/s.json")
    assert (err.value.file, err.value.line) == ("/run/s.json", 2)
    with pytest.raises(ParseError) as err:
        parse_sensor_json('{"t": 20}', "t", "rh", source="x.json")
    assert str(err.value) == "x.json: rh: missing"
