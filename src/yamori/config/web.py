"""[web]: who may use the agent's web pages when it listens beyond loopback, TLS, names.

The listen address itself stays `[agent] listen` (an existing contract)."""

from __future__ import annotations

import base64
import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from .types import Duration, Section, parse_listen

_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*\.?$")


class WebUser(Section):
    name: str = Field(description="login name (letters, digits, _ . @ -)")
    password_hash: str = Field(description="from `yamori web passwd NAME` (scrypt); never the password itself")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("letters, digits and _ . @ - only, at most 64")
        return value

    @field_validator("password_hash")
    @classmethod
    def _hash(cls, value: str) -> str:
        parse_password_hash(value)
        return value


class WebSettings(Section):
    users: list[WebUser] = Field(default_factory=list,
                                 description="logins (name, password_hash): required when listen is not loopback")
    hostnames: list[str] = Field(default_factory=list,
                                 description="names the pages may be reached by (Host header), besides the listen "
                                 "address; anything else is refused (DNS rebinding)")
    tls_cert: str = Field("", description="PEM certificate file: serve HTTPS (with tls_key); empty = plain HTTP")
    tls_key: str = Field("", description="PEM private key file for tls_cert (keep it 0600)")
    lang: Literal["", "en", "ja"] = Field("", description="page language; empty = the browser's Accept-Language")
    max_connections: int = Field(128, ge=1, le=4096,
                                 description="open connections at most (also capped by the file descriptor limit)")
    max_per_client: int = Field(32, ge=1, le=1024, description="open connections at most from one address")
    fd_reserve: int = Field(64, ge=16, le=4096,
                            description="file descriptors kept free for the guard's logs, nft and SMTP")
    session_lifetime: Duration = Field(12 * 3600.0, description="a login lasts this long")
    login_attempts: int = Field(5, ge=1, le=100, description="failed logins per address per minute before 429")

    @field_validator("hostnames")
    @classmethod
    def _hostnames(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _HOSTNAME.match(name):
                raise ValueError(f"not a host name: {name!r}")
        return [n.rstrip(".").lower() for n in value]

    @model_validator(mode="after")
    def _tls_pair(self) -> WebSettings:
        if bool(self.tls_cert) != bool(self.tls_key):
            raise ValueError("tls_cert and tls_key go together: set both or neither")
        names = [u.name for u in self.users]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"user names must be unique: {', '.join(duplicates)}")
        return self


_MAX_N = 2**20


def parse_password_hash(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    """scrypt$N$r$p$SALT$HASH (base64url) -> its parts; ValueError says what is wrong."""
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("expected scrypt$N$r$p$salt$hash as printed by `yamori web passwd NAME`")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = (base64.urlsafe_b64decode(x + "=" * (-len(x) % 4)) for x in parts[4:])
    except ValueError as err:
        raise ValueError("malformed scrypt hash: run `yamori web passwd NAME` again") from err
    if not (2 <= n <= _MAX_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        raise ValueError("scrypt parameters out of range (N a power of two up to 2^20, r ≤ 32, p ≤ 16)")
    if len(salt) < 8 or len(digest) < 16:
        raise ValueError("scrypt salt or hash too short")
    return n, r, p, salt, digest


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def listen_problem(listen: str, web: WebSettings) -> str | None:
    """Why this listen address may not be used with these [web] settings, or None."""
    host, _ = parse_listen(listen)
    if is_loopback(host) or web.users:
        return None
    return (f"{listen} is reachable from other machines: add a [[web.users]] entry (name, password_hash from "
            "`yamori web passwd NAME`) or listen on 127.0.0.1")
