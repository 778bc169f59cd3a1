"""[network]: paths to watch hop by hop, DNS expectations, uplinks, LAN hygiene."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, field_validator, model_validator

from .lan import ExposureSettings, LanSettings
from .types import Duration, Section

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(bit|bps|b)?(?:/s)?\s*$", re.IGNORECASE)
_RATE_UNITS = {"": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_rate(value: object) -> float:
    """'1Mbit', '100M', '1.5 Gbit/s', '800k' or a number of bits per second -> bits/s."""
    if isinstance(value, bool):
        raise ValueError("expected a rate such as 1Mbit, 100Mbit or 1Gbit")
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError("a capacity must be above zero")
        return float(value)
    if isinstance(value, str):
        match = _RATE.match(value)
        if match:
            rate = float(match.group(1)) * _RATE_UNITS[match.group(2).lower()]
            if rate > 0:
                return rate
    raise ValueError("expected a rate such as 1Mbit, 100Mbit or 1Gbit (bits per second)")


Rate = Annotated[float, BeforeValidator(parse_rate)]


def parse_target(text: str) -> tuple[str, str, int]:
    """'https://host/path' / 'http://host:8080/' / 'tcp://host:5432' -> (scheme, host, port)."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as err:
        raise ValueError(f"not a valid target {text!r}: {err}") from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https", "tcp"):
        raise ValueError(f"target {text!r}: expected http://, https:// or tcp://HOST:PORT")
    host = parts.hostname or ""
    if not host:
        raise ValueError(f"target {text!r}: no host")
    if scheme == "tcp":
        if port is None:
            raise ValueError(f"target {text!r}: tcp:// needs a port, e.g. tcp://203.0.113.10:5432")
        if parts.path not in ("", "/") or parts.query:
            raise ValueError(f"target {text!r}: tcp:// takes HOST:PORT only")
    if port is None:
        port = 443 if scheme == "https" else 80
    if not 0 < port < 65536:
        raise ValueError(f"target {text!r}: port out of range")
    return scheme, host, port


def parse_resolver(text: str) -> tuple[str, int]:
    """'192.0.2.53', '127.0.0.1:5353', '2001:db8::53' or '[2001:db8::53]:5353' -> (address, port)."""
    value = text.strip()
    port = 53
    if value.startswith("["):
        address, _, rest = value[1:].partition("]")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ValueError(f"resolver {text!r}: expected [ADDRESS]:PORT")
            port = int(rest[1:])
    elif value.count(":") == 1:
        address, _, port_text = value.partition(":")
        if not port_text.isdigit():
            raise ValueError(f"resolver {text!r}: expected ADDRESS or ADDRESS:PORT")
        port = int(port_text)
    else:
        address = value
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise ValueError(f"resolver {text!r}: expected an IP address (a resolver is asked by address)") from None
    if not 0 < port < 65536:
        raise ValueError(f"resolver {text!r}: port out of range")
    return address, port


class PathEntry(Section):
    name: str = Field(description="a name for alerts and pages, e.g. internet")
    hops: list[str] = Field(default_factory=list,
                            description="inventory host names, in order from this host outward")
    targets: list[str] = Field(default_factory=list,
                               description="services at the end: https://host/path, http://..., tcp://HOST:PORT")
    interval: Duration = Field(30.0, description="probe round; default 30s")
    count: int = Field(5, ge=1, le=100, description="echo requests per hop in each round of the agent")
    timeout: Duration = Field(3.0, description="how long one echo, connect or request may take")
    expect_body: str | None = Field(None, description="text every HTTP(S) target's body must contain")
    expect_status: list[int] = Field(default_factory=list,
                                     description="HTTP statuses counted as success; empty = 200-399")
    follow_redirects: bool = Field(True, description="follow HTTP redirects (at most 10)")
    latency_warning: Duration = Field(0.15, description="WARNING when a hop adds this much round-trip time")
    ca_file: str | None = Field(None, description="CA bundle to verify https targets against; default the system's")
    tls_warning_days: int = Field(14, ge=0, description="WARNING when a certificate expires within this many days")
    tls_critical_days: int = Field(3, ge=0, description="CRITICAL when a certificate expires within this many days")

    @field_validator("targets")
    @classmethod
    def _valid_targets(cls, values: list[str]) -> list[str]:
        for value in values:
            parse_target(value)
        return values

    @field_validator("hops")
    @classmethod
    def _distinct_hops(cls, values: list[str]) -> list[str]:
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(f"a hop appears twice: {', '.join(repeated)}")
        return values


class DnsEntry(Section):
    name: str = Field(description="the DNS name to resolve, e.g. db.example.org")
    expect: list[str] = Field(description="the addresses it must resolve to (A and/or AAAA)")
    resolvers: list[str] = Field(description="resolvers to ask, each ADDRESS or ADDRESS:PORT")
    interval: Duration = Field(300.0, description="how often the name is checked")
    timeout: Duration = Field(3.0, description="how long one resolver may take to answer")

    @field_validator("expect")
    @classmethod
    def _valid_expect(cls, values: list[str]) -> list[str]:
        if not values:
            raise ValueError("expected at least one address")
        for value in values:
            try:
                ipaddress.ip_address(value)
            except ValueError as err:
                raise ValueError(f"not an IP address: {value!r}") from err
        return values

    @field_validator("resolvers")
    @classmethod
    def _valid_resolvers(cls, values: list[str]) -> list[str]:
        if not values:
            raise ValueError("expected at least one resolver")
        for value in values:
            parse_resolver(value)
        return values


class LinkEntry(Section):
    interface: str = Field(description="network interface, e.g. eth0 or ppp0", pattern=r"^[A-Za-z0-9_.:@-]{1,15}$")
    capacity: Rate = Field(description="what the link carries, bits per second: 1Mbit, 100Mbit, 1Gbit")
    interval: Duration = Field(60.0, description="how often the counters are read")
    warning_percent: float = Field(80.0, description="WARNING when the day's 95th percentile reaches this share")
    critical_percent: float = Field(95.0, description="CRITICAL when the day's 95th percentile reaches this share")


class NetworkSettings(Section):
    """Filled by the network domains: paths/dns/links (network paths), lan/exposure (LAN)."""

    paths: list[PathEntry] = Field(default_factory=list,
                                   description="paths watched hop by hop ([[network.paths]])")
    dns: list[DnsEntry] = Field(default_factory=list, description="names that must resolve as expected")
    links: list[LinkEntry] = Field(default_factory=list, description="uplinks whose use is measured")
    lan: LanSettings = Field(default_factory=LanSettings, description="LAN hygiene: neighbours, ARP probes")
    exposure: ExposureSettings = Field(default_factory=ExposureSettings,
                                       description="amplifier exposure of the declared devices")

    @model_validator(mode="after")
    def _unique_path_names(self) -> NetworkSettings:
        names = [p.name for p in self.paths]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"path names must be unique: {', '.join(repeated)}")
        return self
