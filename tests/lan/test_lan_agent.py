"""End to end in namespaces: `yamori run` watches the LAN; the gateway answering with a new MAC
reaches the operator's inbox (a real SMTP server, aiosmtpd, in the same namespace) once."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from lannet import lan, sh

from support.agentconf import QUIET
from support.netns import can_use_netns

pytestmark = pytest.mark.skipif(can_use_netns() is not None, reason=str(can_use_netns()))

TESTS = Path(__file__).parent.parent
OUI = TESTS / "fixtures" / "lan" / "oui.csv"
YAMORI = str(Path(sys.executable).with_name("yamori"))
OLD, NEW = "00:00:5e:00:53:01", "00:00:5e:00:53:02"


def config(tmp: Path) -> str:
    return f"""
[agent]
listen = "127.0.0.1:0"
state_dir = "{tmp / 'var'}"
hostname = "testhost"
{QUIET}[probes.raid]
enabled = false
[guard]
enabled = false
[network.lan]
oui_file = "{OUI}"
[alerts.email]
host = "127.0.0.1"
port = 8025
sender = "yamori@example.org"
to = ["ops@example.org"]
"""


def wait_for(predicate, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_gateway_change_is_mailed_once(tmp_path: Path) -> None:
    (tmp_path / "yamori.toml").write_text(config(tmp_path))
    mail, log = tmp_path / "mail.txt", tmp_path / "agent.log"
    with lan() as net:
        gw = net.device("gw", OLD, "192.0.2.1/24")
        host = net.device("h", "00:00:5e:00:53:10", "192.0.2.10/24", gateway="192.0.2.1")
        with mail.open("w") as out, log.open("w") as err:
            net.spawn(host, sys.executable, "-m", "support.smtpsink", "127.0.0.1", "8025", stdout=out,
                      stderr=subprocess.DEVNULL, cwd=str(TESTS))
            agent = net.spawn(host, YAMORI, "--config", str(tmp_path / "yamori.toml"), "run",
                              stdout=subprocess.DEVNULL, stderr=err)
            assert wait_for(lambda: "watching neighbours on eth0" in log.read_text(), 20), log.read_text()
            sh("ping", "-c1", "-W2", "192.0.2.1", ns=host)
            time.sleep(1.5)
            sh("sysctl", "-qw", "net.ipv4.conf.eth0.arp_notify=1", ns=gw)
            sh("ip", "link", "set", "eth0", "address", NEW, ns=gw)
            for _ in range(3):
                sh("ping", "-c1", "-W1", "192.0.2.1", ns=host, check=False)
            got = wait_for(lambda: NEW in mail.read_text(errors="replace"), 30)
            time.sleep(2)
            agent.terminate()
            agent.wait(timeout=30)
    text = mail.read_text(errors="replace")
    assert got, (text, log.read_text())
    assert OLD in text and NEW in text and "ICANN, IANA Department" in text
    assert text.count("changed its MAC address") == 1, text
