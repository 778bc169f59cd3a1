"""One running agent with days of stored data, a RAID rebuild and a hostile guard event,
shared by the dashboard tests of a module."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator

import pytest

from .agentproc import HOSTILE_USER, Agent, log_stamp, running_agent


def get_json(url: str) -> object:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def dashboard_agent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Agent]:
    root = tmp_path_factory.mktemp("dashboard")
    # a room sensor at 24 °C and 63 % RH: dew point 16.5 °C, inside class A1's allowable
    # envelope (17 °C) but above the recommended 15 °C
    (root / "inlet.json").write_text('{"temperature": 24.0, "humidity": 63}')
    sensor = f'[[environment.sensors]]\nname = "rack1-inlet"\nkind = "file"\npath = "{root / "inlet.json"}"\n'
    with running_agent(root, extra=sensor) as agent:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not get_json(agent.url + "api/guard"):
            time.sleep(0.2)
        time.sleep(1.0)   # the guard has read the file as it is
        stamp = log_stamp()
        agent.append_log(f"{stamp} [4243] [unknown]@[unknown] LOG:  connection received: host=203.0.113.5 port=50312")
        agent.append_log(f'{stamp} [4243] {HOSTILE_USER}@postgres FATAL:  password authentication failed for user '
                         f'"{HOSTILE_USER}"')
        events: list[object] = []
        while time.monotonic() < deadline:
            guard = get_json(agent.url + "api/guard")
            events = guard["events"] if isinstance(guard, dict) else []
            overview = get_json(agent.url + "api/overview")
            probes = overview["probes"] if isinstance(overview, dict) else []
            if events and {"raid", "audit", "system", "environment"} <= {p["name"] for p in probes}:
                break
            time.sleep(0.2)
        assert events, "the guard reported the hostile login attempt"
        yield agent
