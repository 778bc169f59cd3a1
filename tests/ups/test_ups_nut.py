"""The ups probe against a real upsd + dummy-ups: the test edits the dummy's state file
(OL -> OB, charge falling, runtime below the need) and the findings follow."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from tests.support.nutserver import NutServer, nut_available, nut_server

from yamori.cli import cli
from yamori.config.environment import EnvironmentSettings
from yamori.records import Finding, Sample, Severity
from yamori.ups.probe import UpsProbe

pytestmark = pytest.mark.skipif(nut_available() is not None, reason=str(nut_available()))

ON_LINE = {"ups.status": "OL", "battery.charge": "100", "battery.runtime": "3600", "ups.load": "23",
           "ups.test.result": "Done and passed", "ups.test.date": "2026/11/29", "battery.date": "2025/03/15",
           "ups.mfr": "Dummy", "ups.model": "Test 1500",
           # dummy-ups keeps a variable once set, so every state carries the ambient sensor
           "ambient.temperature": "22.0", "ambient.humidity": "45.0"}


@pytest.fixture(scope="module")
def nut() -> Iterator[NutServer]:
    with nut_server(ON_LINE) as server:
        yield server


class Clock:
    def __init__(self) -> None:
        self.now = 1_796_000_000.0  # 2026-11-30 00:53 UTC

    def __call__(self) -> float:
        return self.now


def _settings(nut: NutServer, **extra: object) -> EnvironmentSettings:
    ups = {"name": nut.ups, "host": "127.0.0.1", "port": nut.port, "username": "yamori",
           "password_env": "YAMORI_TEST_NUT_PASSWORD", **extra.pop("ups", {})}  # type: ignore[dict-item]
    return EnvironmentSettings.model_validate({"ups": [ups], "shutdown_needs": "10m", **extra})


def _collect(probe: UpsProbe) -> tuple[dict[str, Finding], dict[str, float]]:
    records = asyncio.run(probe.collect_async())
    findings = {r.check: r for r in records if isinstance(r, Finding)}
    samples = {r.metric: r.value for r in records if isinstance(r, Sample)}
    return findings, samples


def test_outage_sequence(nut: NutServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YAMORI_TEST_NUT_PASSWORD", nut.password)
    clock = Clock()
    probe = UpsProbe(_settings(nut), clock)
    try:
        findings, samples = _collect(probe)
        assert findings == {}
        assert samples["ups_on_battery"] == 0 and samples["ups_runtime_seconds"] == 3600
        assert samples["ups_load_percent"] == 23 and samples["ups_battery_charge_percent"] == 100
        assert samples["ups_self_test_age_seconds"] == 86400

        # the mains fail
        nut.set_state({**ON_LINE, "ups.status": "OB DISCHRG", "battery.charge": "90", "battery.runtime": "2400"})
        findings, samples = _collect(probe)
        assert set(findings) == {"ups.on_battery"}
        assert findings["ups.on_battery"].severity == Severity.WARNING  # within the 30 s grace
        assert findings["ups.on_battery"].subject == "ups"
        assert samples["ups_on_battery"] == 1

        clock.now += 31
        findings, _ = _collect(probe)
        assert findings["ups.on_battery"].severity == Severity.CRITICAL
        assert "for 31 s, charge 90 %, 40 min of runtime left" in findings["ups.on_battery"].message

        # the battery runs down: runtime below what the shutdown needs, charge low
        nut.set_state({**ON_LINE, "ups.status": "OB DISCHRG", "battery.charge": "45", "battery.runtime": "420"})
        clock.now += 600
        findings, _ = _collect(probe)
        assert set(findings) == {"ups.on_battery", "ups.runtime_short", "ups.low_charge"}
        assert findings["ups.runtime_short"].severity == Severity.CRITICAL
        assert "7 min of runtime at 23 % load, less than the 10 min" in findings["ups.runtime_short"].message
        assert findings["ups.low_charge"].severity == Severity.WARNING

        nut.set_state({**ON_LINE, "ups.status": "OB DISCHRG LB", "battery.charge": "15", "battery.runtime": "90"})
        findings, _ = _collect(probe)
        assert findings["ups.low_charge"].severity == Severity.CRITICAL
        assert "low battery" in findings["ups.low_charge"].message

        # power back, recharging; the next self-test fails
        nut.set_state({**ON_LINE, "ups.status": "OL CHRG", "battery.charge": "60", "battery.runtime": "500",
                       "ups.test.result": "Done and error"})
        findings, samples = _collect(probe)
        assert "ups.on_battery" not in findings and samples["ups_on_battery"] == 0
        assert findings["ups.runtime_short"].severity == Severity.WARNING  # recharging after the outage
        assert findings["ups.self_test_failed"].message == "UPS ups: last self-test: 'Done and error'"

        # a second outage starts the grace again
        nut.set_state({**ON_LINE, "ups.status": "OB", "battery.charge": "100"})
        findings, _ = _collect(probe)
        assert findings["ups.on_battery"].severity == Severity.WARNING
    finally:
        nut.set_state(ON_LINE)


def test_old_battery_and_replace_flag(nut: NutServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YAMORI_TEST_NUT_PASSWORD", nut.password)
    try:
        nut.set_state({**ON_LINE, "ups.status": "OL RB", "battery.date": "2019/05/01", "ups.test.date": "2026/01/02"})
        findings, _ = _collect(UpsProbe(_settings(nut), Clock()))
        assert findings["ups.self_test_failed"].message.startswith(
            "UPS ups: the UPS asks for its battery to be replaced")
        assert findings["ups.battery_old"].severity == Severity.WARNING
        assert "2019-05-01, 7.6 years old" in findings["ups.battery_old"].message
        assert findings["ups.self_test_old"].severity == Severity.INFO
    finally:
        nut.set_state(ON_LINE)


def test_ups_ambient_sensor_against_the_envelope(nut: NutServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YAMORI_TEST_NUT_PASSWORD", nut.password)
    try:
        nut.set_state({**ON_LINE, "ups.status": "OL CHRG", "ambient.temperature": "27.0", "ambient.humidity": "60.0"})
        records = asyncio.run(UpsProbe(_settings(nut, **{"class": "A2"}), Clock()).collect_async())
        (finding,) = [r for r in records if isinstance(r, Finding)]
        assert (finding.check, finding.subject, finding.severity) == ("env.envelope", "ups-ambient", Severity.WARNING)
        assert "dew point 18.6 °C" in finding.message
        nut.set_state({**ON_LINE, "ups.status": "OL", "ambient.temperature": "hot", "ambient.humidity": "60.0"})
        records = asyncio.run(UpsProbe(_settings(nut), Clock()).collect_async())
        assert [r.check for r in records if isinstance(r, Finding)] == ["env.sensor_unreadable"]
    finally:
        nut.set_state(ON_LINE)


def test_unknown_ups_and_missing_password(nut: NutServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YAMORI_TEST_NUT_PASSWORD", raising=False)
    findings, _ = _collect(UpsProbe(_settings(nut), Clock()))
    assert findings["ups.unreachable"].message.endswith("environment variable YAMORI_TEST_NUT_PASSWORD "
                                                        "(password_env) is not set")
    findings, _ = _collect(UpsProbe(_settings(nut, ups={"name": "other", "password_env": None}), Clock()))
    assert findings["ups.unreachable"].subject == "other"
    assert "upsd knows no UPS of that name" in findings["ups.unreachable"].message


def test_password_never_shown(nut: NutServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YAMORI_TEST_NUT_PASSWORD", nut.password)
    config = nut.base / "yamori.toml"
    config.write_text(f'[[environment.ups]]\nname = "ups"\nport = {nut.port}\nusername = "yamori"\n'
                      'password_env = "YAMORI_TEST_NUT_PASSWORD"\n')
    try:
        nut.set_state({**ON_LINE, "ups.status": "OB", "battery.runtime": "60"})
        result = CliRunner().invoke(cli, ["--config", str(config), "check", "--json", "--only", "ups"])
        assert result.exit_code == 2, result.output
        data = json.loads(result.output)
        assert [p["name"] for p in data["probes"]] == ["ups"]
        assert {f["check"] for f in data["findings"]} == {"ups.on_battery", "ups.runtime_short"}
        assert nut.password not in result.output
    finally:
        nut.set_state(ON_LINE)


def test_down_server_is_unreachable(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = EnvironmentSettings.model_validate({"ups": [{"name": "ups", "port": port}], "timeout": "1s"})
    findings, _ = _collect(UpsProbe(settings, Clock()))
    assert "Connection refused" in findings["ups.unreachable"].message


@pytest.mark.parametrize("answer", [
    b"\xff\xfe\x00garbage\n",
    b"BEGIN LIST VAR ups\n" + b"A" * 200_000,
    b"BEGIN LIST VAR ups\nVAR ups ups.status \"OB\"\n",  # then closes mid-answer
    b"",
])
def test_hostile_server_is_unreachable_not_a_crash(answer: bytes) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(0.2)
    done = threading.Event()

    def serve() -> None:
        served = 0
        while served < 2 and not done.is_set():  # aionut retries once
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            served += 1
            with conn:
                conn.recv(1024)
                if answer:
                    conn.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    settings = EnvironmentSettings.model_validate(
        {"ups": [{"name": "ups", "port": listener.getsockname()[1]}], "timeout": "1s"})
    try:
        findings, _ = _collect(UpsProbe(settings, Clock()))
    finally:
        done.set()
        thread.join(5)
        listener.close()
    assert findings["ups.unreachable"].severity == Severity.WARNING
    assert findings["ups.unreachable"].message.startswith("UPS ups@127.0.0.1:")
