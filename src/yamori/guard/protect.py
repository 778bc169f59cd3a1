"""What the host depends on, and may therefore never be banned, whatever a log says.

A forged log line can name any address; a ban of the host's DNS resolver, its mail relay or
webhook endpoint, its gateway or one of its own machines would cut name resolution, alert
delivery or the operator's own access. So before any ban the address is checked against:
the resolvers in /etc/resolv.conf (and systemd-resolved's upstream file), the SMTP relay and
webhook host of [alerts], every gateway in the kernel's routing tables (/proc/net/route and
/proc/net/ipv6_route, read through the [agent] proc root), every [[inventory.hosts]] address and
[[inventory.networks]] network, loopback and the allowlist.

Reading is split from parsing: `parse_resolv_conf`, `parse_route`, `parse_ipv6_route` are pure.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ..config.model import Settings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], list[str]]

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))


def _net(text: str) -> IPNetwork | None:
    try:
        return ipaddress.ip_network(text.split("%", 1)[0], strict=False)
    except ValueError:
        return None


def parse_resolv_conf(text: str) -> list[str]:
    """The `nameserver` addresses of a resolv.conf (scope ids dropped; anything else ignored)."""
    out: list[str] = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == "nameserver" and _net(parts[1]) is not None:
            out.append(parts[1].split("%", 1)[0])
    return out


def parse_route(text: str) -> list[str]:
    """Gateways of /proc/net/route (hex, little-endian IPv4); the header line is skipped."""
    out: list[str] = []
    for line in text.splitlines()[1:]:
        cols = line.split()
        if len(cols) < 3:
            continue
        try:
            gw = int(cols[2], 16)
        except ValueError:
            continue
        if gw:
            out.append(str(ipaddress.IPv4Address(gw.to_bytes(4, "little"))))
    return out


def parse_ipv6_route(text: str) -> list[str]:
    """Next hops of /proc/net/ipv6_route (column 5, 32 hex digits, network order)."""
    out: list[str] = []
    for line in text.splitlines():
        cols = line.split()
        if len(cols) < 5 or len(cols[4]) != 32:
            continue
        try:
            hop = ipaddress.IPv6Address(bytes.fromhex(cols[4]))
        except ValueError:
            continue
        if int(hop):
            out.append(str(hop))
    return out


def system_resolve(name: str) -> list[str]:
    return sorted({str(info[4][0]) for info in socket.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)})


@dataclass
class Protected:
    """Networks never banned, each with the reason; `problems` says what could not be read."""

    entries: list[tuple[IPNetwork, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def add(self, address: str, why: str) -> None:
        net = _net(address)
        if net is None:
            self.problems.append(f"{why}: {address!r} is not an IP address or network")
        elif not any(n == net for n, _ in self.entries):
            self.entries.append((net, why))

    def why(self, address: str) -> str | None:
        """The reason `address` must never be banned, or None. Anything unparsable is protected."""
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return "not an IP address"
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
            ip = ip.ipv4_mapped
        if ip.is_loopback or ip.is_unspecified:
            return "loopback"
        for net, why in self.entries:
            if net.version == ip.version and ip in net:
                return why
        return None


def _read(path: Path, problems: list[str]) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None
    except OSError as err:
        problems.append(f"{path}: cannot read: {err.strerror}")
        return None


def host_dependencies(settings: Settings, *, root: Path = Path("/"), proc: Path | None = None,
                      resolve: Resolver = system_resolve) -> Protected:
    """Everything the host depends on (see the module doc). `root` holds etc/resolv.conf and
    run/systemd/resolve/resolv.conf; `proc` defaults to [agent] proc."""
    p = Protected()
    for net in LOOPBACK:
        p.add(str(net), "loopback")
    for rel in ("etc/resolv.conf", "run/systemd/resolve/resolv.conf"):
        text = _read(root / rel, p.problems)
        for ns in parse_resolv_conf(text or ""):
            p.add(ns, f"DNS resolver ({'/' + rel})")
    proc = Path(settings.agent.proc) if proc is None else proc
    for name, parse in (("route", parse_route), ("ipv6_route", parse_ipv6_route)):
        for gw in parse(_read(proc / "net" / name, p.problems) or ""):
            p.add(gw, "gateway (routing table)")
    names: list[tuple[str, str]] = []
    email = settings.alerts.email
    if email.host:
        names.append((email.host, "SMTP relay of [alerts.email]"))
    if settings.alerts.webhook.url:
        host = urlsplit(settings.alerts.webhook.url).hostname
        if host:
            names.append((host, "webhook host of [alerts.webhook]"))
    for host, why in names:
        if _net(host) is not None:
            p.add(host, why)
            continue
        try:
            addresses = resolve(host)
        except (OSError, UnicodeError) as err:
            p.problems.append(f"{why}: cannot resolve {host!r}: {err}")
            continue
        for address in addresses:
            p.add(address, f"{why} ({host})")
    inv = settings.inventory
    for h in inv.hosts:
        for address in h.addresses:
            p.add(address, f"inventory host {h.name}")
    for n in inv.networks:
        p.add(n.cidr, f"inventory network {n.name}")
    for a in inv.allowlist:
        p.add(a, "allowlist")
    return p
