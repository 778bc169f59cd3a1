"""Password hashes for [[web.users]]: scrypt from hashlib, self-describing, checked in constant time.

Format: scrypt$N$r$p$SALT$HASH (salt and hash in unpadded base64url)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os

N, R, P = 2**14, 8, 1
_MAX_N = 2**20
DKLEN = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=DKLEN, maxmem=64 * 1024 * 1024)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def _parse(encoded: str) -> tuple[int, int, int, bytes, bytes]:
    parts = encoded.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise ValueError("expected scrypt$N$r$p$salt$hash as printed by `yamori web passwd NAME`")
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except ValueError as err:
        raise ValueError("malformed scrypt hash: run `yamori web passwd NAME` again") from err
    if not (2 <= n <= _MAX_N and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        raise ValueError("scrypt parameters out of range (N a power of two up to 2^20, r ≤ 32, p ≤ 16)")
    if len(salt) < 8 or len(digest) < 16:
        raise ValueError("scrypt salt or hash too short")
    return n, r, p, salt, digest


def check_format(encoded: str) -> None:
    _parse(encoded)


def verify_password(password: str, encoded: str) -> bool:
    try:
        n, r, p, salt, digest = _parse(encoded)
    except ValueError:
        return False
    candidate = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(digest),
                               maxmem=256 * 1024 * 1024)
    return hmac.compare_digest(candidate, digest)


@functools.cache
def dummy_hash() -> str:
    """Verified against when the user name is unknown, so timing does not tell names apart."""
    return hash_password("unused", salt=b"yamori-dummy-salt")
