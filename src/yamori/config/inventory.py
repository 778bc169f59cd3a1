"""[inventory]: the operator's own networks, hosts and services, shared by guard, audit, network."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import Annotated, Self

from pydantic import AfterValidator, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from .types import Section, located


def _check_cidr(value: str) -> str:
    if value != value.strip():
        raise ValueError(f"{value!r} has surrounding spaces: write it without them")
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError as err:
        raise ValueError(f"not an address or network: {value!r} (e.g. 192.0.2.7 or 198.51.100.0/24)") from err
    return value


Cidr = Annotated[str, AfterValidator(_check_cidr)]

# Host key algorithms a pinned `host_key` may name (OpenSSH's public key types).
HOST_KEY_TYPES = (
    "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "ssh-ed448", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
)
_SSH_TARGET = re.compile(r"^(?:(?P<user>[A-Za-z0-9._][A-Za-z0-9._-]{0,31})@)?"
                         r"(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[A-Za-z0-9][A-Za-z0-9.-]{0,252}))"
                         r"(?::(?P<port>[0-9]{1,5}))?$")
_HOSTNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")
_MACHINE_ID = re.compile(r"^[0-9a-f]{32}$")


def parse_ssh_target(value: str) -> tuple[str | None, str, int]:
    """'user@addr:port', 'addr', 'user@[2001:db8::1]:22' -> (user or None, address, port)."""
    match = _SSH_TARGET.match(value)
    if not match:
        raise ValueError(f"expected user@address:port, e.g. root@192.0.2.10:22, not {value!r}")
    address = match.group("v6") or match.group("host")
    if match.group("v6"):
        try:
            ipaddress.IPv6Address(address)
        except ValueError as err:
            raise ValueError(f"not an IPv6 address: {address!r}") from err
    port = int(match.group("port") or 22)
    if not 1 <= port <= 65535:
        raise ValueError(f"port {port} is out of range 1-65535")
    return match.group("user"), address, port


def parse_host_key(value: str) -> tuple[str, bytes]:
    """'ssh-ed25519 AAAA... [comment]' -> (algorithm, key blob); the blob must name the same
    algorithm inside, so a key pasted under the wrong type is caught here, not at connect time."""
    parts = value.split()
    if len(parts) < 2:
        raise ValueError("expected 'ALGORITHM BASE64', e.g. 'ssh-ed25519 AAAAC3Nza...' (one line of "
                         "/etc/ssh/ssh_host_ed25519_key.pub, or `yamori remote pin HOST`)")
    algorithm, encoded = parts[0], parts[1]
    if algorithm not in HOST_KEY_TYPES:
        raise ValueError(f"unknown host key type {algorithm[:40]!r} (expected one of {', '.join(HOST_KEY_TYPES)})")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as err:
        raise ValueError("the key is not valid base64") from err
    if len(blob) < 4:
        raise ValueError("the key is truncated")
    size = int.from_bytes(blob[:4], "big")
    inner = blob[4 : 4 + size]
    if inner != algorithm.encode():
        raise ValueError(f"the key data says {inner[:40].decode('ascii', 'replace')!r}, not {algorithm!r}: "
                         "truncated or pasted under the wrong type")
    return algorithm, blob


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
    ssh: str | None = Field(None, description="how to reach it by SSH: user@address:port (port 22 if left out)")
    via: str | None = Field(None, description="the inventory name of the jump host the SSH connection goes through")
    host_key: str | None = Field(None, description="pinned SSH host key, 'ssh-ed25519 AAAA...' "
                                 "(`yamori remote pin HOST` prints it); no key, no connection")
    hostname: str | None = Field(None, description="what `uname -n` must answer there (default: this entry's name)")
    machine_id: str | None = Field(None, description="what /etc/machine-id must contain there (optional)")
    identity: str | None = Field(None, description="private key file for SSH (default: the ssh agent and ~/.ssh keys)")

    @property
    def expected_hostname(self) -> str:
        return self.hostname or self.name

    @field_validator("ssh")
    @classmethod
    def _valid_ssh(cls, value: str | None) -> str | None:
        if value is not None:
            parse_ssh_target(value)
        return value

    @field_validator("host_key")
    @classmethod
    def _valid_host_key(cls, value: str | None) -> str | None:
        if value is not None:
            parse_host_key(value)
        return value

    @field_validator("hostname")
    @classmethod
    def _valid_hostname(cls, value: str | None) -> str | None:
        if value is not None and not _HOSTNAME.match(value):
            raise ValueError(f"not a host name: {value[:80]!r}")
        return value

    @field_validator("machine_id")
    @classmethod
    def _valid_machine_id(cls, value: str | None) -> str | None:
        if value is not None and not _MACHINE_ID.match(value):
            raise ValueError("expected 32 lowercase hex digits, as in /etc/machine-id")
        return value

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
    allowlist: list[Cidr] = Field(default_factory=list, description="addresses or CIDRs never banned")

    def host(self, name: str) -> HostEntry | None:
        return next((h for h in self.hosts if h.name == name), None)

    def jump_chain(self, name: str) -> list[HostEntry]:
        """The jump hosts to go through to reach `name`, outermost first (validated: no loops)."""
        chain: list[HostEntry] = []
        entry = self.host(name)
        while entry is not None and entry.via:
            entry = self.host(entry.via)
            if entry is None or entry in chain:
                break
            chain.insert(0, entry)
        return chain

    @model_validator(mode="after")
    def _valid_links(self) -> Self:
        """Duplicate host names, `via` naming no host or a host without `ssh`, and via loops,
        each located at the offending entry."""
        errors: list[InitErrorDetails] = []

        def problem(index: int, key: str, message: str, value: object) -> None:
            errors.append(InitErrorDetails(type=PydanticCustomError("inventory", message),
                                           loc=("hosts", index, key), input=value))

        seen: dict[str, int] = {}
        for index, host in enumerate(self.hosts):
            if host.name in seen:
                problem(index, "name", f"host {host.name!r} is declared twice (also hosts[{seen[host.name]}])",
                        host.name)
            seen.setdefault(host.name, index)
        for index, host in enumerate(self.hosts):
            if host.via is None:
                continue
            if host.via == host.name:
                problem(index, "via", f"host {host.name!r} cannot be its own jump host", host.via)
                continue
            target = self.host(host.via)
            if target is None:
                problem(index, "via", f"names no host: no [[inventory.hosts]] has name = {host.via!r}", host.via)
                continue
            if target.ssh is None:
                problem(index, "via", f"jump host {host.via!r} has no `ssh` address", host.via)
            if host.ssh is None:
                problem(index, "ssh", f"host {host.name!r} has `via` but no `ssh` address", host.ssh)
            path = [host.name]
            entry: HostEntry | None = target
            while entry is not None:
                if entry.name in path:
                    loop = " -> ".join([*path, entry.name])
                    problem(index, "via", f"jump hosts form a loop: {loop}", host.via)
                    break
                path.append(entry.name)
                entry = self.host(entry.via) if entry.via else None
        if errors:
            raise ValidationError.from_exception_data("InventorySettings", errors)
        return self

    @model_validator(mode="after")
    def _known_sources(self) -> Self:
        """allowed_from: a network named above, or an address/CIDR; nothing is silently ignored."""
        names = [n.name for n in self.networks]
        for i, service in enumerate(self.services):
            for j, entry in enumerate(service.allowed_from):
                if entry in names:
                    continue
                try:
                    _check_cidr(entry)
                except ValueError as err:
                    looks_like_address = any(c in entry for c in "/:.") or entry.strip()[:1].isdigit()
                    if entry != entry.strip() or looks_like_address:
                        raise located(str(err), "services", i, "allowed_from", j) from None
                    known = ", ".join(names) or "none declared in [[inventory.networks]]"
                    raise located(f"unknown network name {entry!r} (known: {known})",
                                  "services", i, "allowed_from", j) from None
        return self
