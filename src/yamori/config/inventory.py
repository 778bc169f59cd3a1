"""[inventory]: the operator's own networks, hosts and services, shared by guard, audit, network."""

from __future__ import annotations

import ipaddress

from pydantic import Field, field_validator

from .types import Section


class NetworkEntry(Section):
    name: str = Field(description="a name used in allowed_from")
    cidr: str = Field(description="IPv4 or IPv6 network, e.g. 203.0.113.0/28")
    role: str = Field("lan", description="admin | lan | replication | monitoring | public | ...")

    @field_validator("cidr")
    @classmethod
    def _valid_cidr(cls, value: str) -> str:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError as err:
            raise ValueError(f"not a network address: {value!r}") from err
        return value


class HostEntry(Section):
    name: str
    addresses: list[str] = Field(default_factory=list)
    role: str = ""

    @field_validator("addresses")
    @classmethod
    def _valid_addresses(cls, values: list[str]) -> list[str]:
        for value in values:
            try:
                ipaddress.ip_address(value)
            except ValueError as err:
                raise ValueError(f"not an IP address: {value!r}") from err
        return values


class ServiceEntry(Section):
    name: str
    host: str = ""
    port: int = Field(ge=0, le=65535)
    proto: str = Field("tcp", pattern="^(tcp|udp)$")
    allowed_from: list[str] = Field(default_factory=list, description="network names or CIDRs")


class InventorySettings(Section):
    networks: list[NetworkEntry] = Field(default_factory=list)
    hosts: list[HostEntry] = Field(default_factory=list)
    services: list[ServiceEntry] = Field(default_factory=list)
    allowlist: list[str] = Field(default_factory=list, description="addresses or CIDRs never banned")
