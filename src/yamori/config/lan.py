"""[network.lan] and [network.exposure]: LAN hygiene (duplicate addresses, gateway changes) and
the bounded probe of the operator's own devices for amplification-prone UDP services."""

from __future__ import annotations

from pydantic import Field, field_validator

from .types import Duration, Section

EXPOSURE_SERVICES = ("ntp-mode6", "ntp-mode7", "dns-recursion", "ssdp", "memcached",
                     "snmp-v1-public", "snmp-v2c-public", "snmp-v1-private", "snmp-v2c-private",
                     "chargen", "qotd")


class LanSettings(Section):
    enabled: bool = Field(True, description="watch the neighbour table (netlink events) in the agent")
    interfaces: list[str] = Field(default_factory=list,
                                  description="interfaces to watch and probe; empty = every interface but lo")
    window: Duration = Field(1800.0, description="an IPv4 address seen with two MAC addresses within this "
                                                 "window is a duplicate address")
    oui_file: str = Field("/usr/share/ieee-data/oui.csv",
                          description="IEEE OUI table (Debian package ieee-data) naming each MAC's vendor")
    state_file: str = Field("", description="where first/last sightings are kept; empty = "
                                            "<agent state_dir>/lan-neighbours.json")
    probe_interval: Duration = Field(900.0, description="how often the agent sends RFC 5227 ARP probes for "
                                                        "the declared and own addresses; 0 = never")
    probe_wait: Duration = Field(1.0, description="how long to collect answers to one round of ARP probes")
    probe_count: int = Field(2, ge=1, le=5, description="ARP probes sent per address and round")
    max_addresses: int = Field(256, ge=1, le=4096, description="at most this many addresses probed per round")


class ExposureSettings(Section):
    enabled: bool = Field(True, description="probe the [[inventory.hosts]] addresses from the agent "
                                            "(only those, never any other address)")
    interval: Duration = Field(86400.0, description="how often the agent probes (default daily)")
    services: list[str] = Field(default_factory=lambda: list(EXPOSURE_SERVICES),
                                description="which probes to send: " + ", ".join(EXPOSURE_SERVICES))
    rate: float = Field(10.0, gt=0, le=1000, description="at most this many request packets per second, "
                                                         "across all hosts")
    wait: Duration = Field(2.0, description="how long to wait for answers from one host")
    dns_name: str = Field("example.com", max_length=253,
                          pattern=r"^([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.?)+$",
                          description="the name asked of DNS servers (outside the devices' "
                                                     "own zones): an answer means open recursion")

    @field_validator("services")
    @classmethod
    def _known(cls, values: list[str]) -> list[str]:
        unknown = [s for s in values if s not in EXPOSURE_SERVICES]
        if unknown:
            raise ValueError(f"unknown service(s) {', '.join(unknown)}; known: {', '.join(EXPOSURE_SERVICES)}")
        return values
