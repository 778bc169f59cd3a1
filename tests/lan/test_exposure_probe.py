"""The agent's exposure probe keeps its low rate across runs and restarts: within the interval it
sends nothing and repeats the last findings (so the alert engine sees no change); after it, it
probes again. Real memcached (UDP on) in a namespace; requests counted by nftables."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from daemons import memcached
from lannet import lan, sh

from support.netns import can_use_netns

pytestmark = pytest.mark.skipif(can_use_netns() is not None, reason=str(can_use_netns()))

COUNTER = "table ip ymtest {\n chain out {\n  type filter hook output priority 0;\n  udp dport 11211 counter\n }\n}\n"

RUN = """
import json, subprocess, sys
from yamori.config import Settings
from yamori.network.exposure.probe import ExposureProbe
from yamori.records import Finding

def sent():
    data = json.loads(subprocess.run(["nft", "-j", "list", "table", "ip", "ymtest"], capture_output=True,
                                     text=True, check=True).stdout)
    return sum(e["counter"]["packets"] for r in data["nftables"] if "rule" in r
               for e in r["rule"]["expr"] if "counter" in e)

settings = Settings.model_validate({
    "agent": {"state_dir": sys.argv[1]},
    "inventory": {"hosts": [{"name": "cache", "addresses": ["192.0.2.123"]}]},
    "network": {"exposure": {"services": ["memcached"], "wait": "0.5s"}}})
out = []
for at in (1000.0, 1000.0 + 3600, 1000.0 + 86400):
    probe = ExposureProbe(settings, clock=lambda at=at: at)     # a new probe each time, as after a restart
    found = [r.subject for r in probe.collect() if isinstance(r, Finding)]
    out.append({"found": found, "sent": sent()})
print(json.dumps(out))
"""


def test_daily_probe_sends_once_per_interval_and_repeats_its_findings(tmp_path: Path) -> None:
    with lan() as net:
        dev = net.device("dev", "00:00:5e:00:53:23", "192.0.2.123/24")
        agent = net.device("agent", "00:00:5e:00:53:10", "192.0.2.10/24")
        memcached(net, dev, tmp_path / "mc", "192.0.2.123", udp=True)
        subprocess.run(["ip", "netns", "exec", agent, "nft", "-f", "-"], input=COUNTER, text=True, check=True,
                       capture_output=True, timeout=30)
        done = sh(sys.executable, "-c", RUN, str(tmp_path), ns=agent)
    runs = json.loads(done.stdout)
    subject = ["cache 192.0.2.123 memcached"]
    assert runs == [{"found": subject, "sent": 1}, {"found": subject, "sent": 1}, {"found": subject, "sent": 2}]
