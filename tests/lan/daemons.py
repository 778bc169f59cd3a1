"""Real daemons for the exposure tests, each with its own config and pid file in a temp dir,
started inside a test namespace and stopped by PID (ntpsec, BIND, net-snmp)."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from lannet import Lan, sh


def wait_udp(ns: str, port: int, address: str = "", seconds: float = 15.0) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if f"{address}:{port} " in sh("ss", "-Hlun", ns=ns).stdout:
            return
        time.sleep(0.1)
    raise AssertionError(f"nothing listens on udp/{port} in {ns}")


def ntpsec(net: Lan, ns: str, work: Path, listen: str, *, open_queries: bool) -> None:
    work.mkdir(parents=True, exist_ok=True)
    # ntpsec 1.2.2 (Debian 12) answered mode 6 to no one through its `restrict default` entry
    # even without noquery, in our trials; an explicit entry for the LAN opens it, as a router's
    # "NTP server: on" setting would.
    opened = "restrict 192.0.2.0 mask 255.255.255.0 kod nomodify nopeer\n" if open_queries else ""
    (work / "ntp.conf").write_text(
        f"driftfile {work}/drift\n"
        "restrict default kod limited nomodify nopeer noquery\n"
        "restrict -6 default kod limited nomodify nopeer noquery\n" + opened)
    net.spawn(ns, "ntpd", "-n", "-c", str(work / "ntp.conf"), "-p", str(work / "ntpd.pid"),
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_udp(ns, 123, listen)     # the wildcard socket only drops; the address's socket answers


def named(net: Lan, ns: str, work: Path, listen: str, *, recursion: bool, forwarder: str | None = None,
          zone: tuple[str, str] | None = None) -> None:
    work.mkdir(parents=True, exist_ok=True)
    rec = "recursion yes; allow-recursion { any; }; allow-query-cache { any; };" if recursion else \
        "recursion no;"
    fwd = f"forwarders {{ {forwarder}; }}; forward only;" if forwarder else ""
    zones = ""
    if zone:
        name, address = zone
        (work / "zone.db").write_text(
            f"$TTL 300\n@ SOA ns.{name}. hostmaster.{name}. 1 3600 600 86400 300\n"
            f"@ NS ns.{name}.\nns A {address}\n@ A 192.0.2.80\n"
            '@ TXT "a text record of some length, as zones on the internet have them"\n')
        zones = f'zone "{name}" {{ type primary; file "{work}/zone.db"; }};'
    (work / "named.conf").write_text(
        f'options {{ directory "{work}"; pid-file "{work}/named.pid"; listen-on {{ {listen}; }}; '
        f'listen-on-v6 {{ none; }}; dnssec-validation no; allow-query {{ any; }}; {rec} {fwd} '
        f'session-keyfile "{work}/session.key"; managed-keys-directory "{work}"; }};\n'
        f"controls {{ }};\n{zones}\n")
    net.spawn(ns, shutil.which("named") or "/usr/sbin/named", "-g", "-c", str(work / "named.conf"),
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_udp(ns, 53)


def snmpd(net: Lan, ns: str, work: Path, listen: str, *, community: bool) -> None:
    work.mkdir(parents=True, exist_ok=True)
    conf = "rocommunity public\n" if community else "rocommunity public 127.0.0.1\n"
    (work / "snmpd.conf").write_text(conf + f"persistentDir {work}\n")
    net.spawn(ns, "snmpd", "-f", "-Lo", "-C", "-c", str(work / "snmpd.conf"), "-p", str(work / "snmpd.pid"),
              f"udp:{listen}:161", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
              env=dict(os.environ, MIBS="", SNMP_PERSISTENT_DIR=str(work)))
    wait_udp(ns, 161)


def memcached(net: Lan, ns: str, work: Path, listen: str, *, udp: bool) -> None:
    """memcached 1.6 has UDP off by default; `-U 11211` is the old default that fed the 2018 floods."""
    work.mkdir(parents=True, exist_ok=True)
    net.spawn(ns, "memcached", "-u", "root", "-l", listen, "-p", "11211", "-U", "11211" if udp else "0",
              "-P", str(work / "memcached.pid"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if udp:
        wait_udp(ns, 11211, listen)
    else:
        end = time.monotonic() + 15
        while f"{listen}:11211 " not in sh("ss", "-Hltn", ns=ns).stdout and time.monotonic() < end:
            time.sleep(0.1)


def inetd_chargen(net: Lan, ns: str, work: Path, listen: str) -> None:
    """openbsd-inetd's built-in CHARGEN on udp/19 (it ignores loopback sources, so probe from the LAN)."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "inetd.conf").write_text("chargen\tdgram\tudp\twait\troot\tinternal\n")
    net.spawn(ns, "inetd", "-d", str(work / "inetd.conf"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_udp(ns, 19)


def miniupnpd(net: Lan, ns: str, work: Path) -> None:
    """A router's UPnP IGD daemon (miniupnpd 2.3), answering SSDP M-SEARCH on eth0; NAT side on lo."""
    work.mkdir(parents=True, exist_ok=True)
    (work / "miniupnpd.conf").write_text(
        "ext_ifname=lo\nlistening_ip=eth0\nport=0\nenable_upnp=yes\nenable_natpmp=no\nsecure_mode=yes\n"
        "uuid=00000000-0000-0000-0000-000000005301\n"
        "allow 1024-65535 192.0.2.0/24 1024-65535\ndeny 0-65535 0.0.0.0/0 0-65535\n")
    net.spawn(ns, "miniupnpd", "-d", "-f", str(work / "miniupnpd.conf"), "-P", str(work / "miniupnpd.pid"),
              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_udp(ns, 1900)
