"""Password hashes for [[web.users]]: scrypt from hashlib, self-describing, checked in constant time.

Format: scrypt$N$r$p$SALT$HASH (salt and hash in unpadded base64url)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os

from ..config.web import parse_password_hash

N, R, P = 2**14, 8, 1
DKLEN = 32


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=N, r=R, p=P, dklen=DKLEN, maxmem=64 * 1024 * 1024)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        n, r, p, salt, digest = parse_password_hash(encoded)
    except ValueError:
        return False
    candidate = hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=len(digest),
                               maxmem=256 * 1024 * 1024)
    return hmac.compare_digest(candidate, digest)


@functools.cache
def dummy_hash() -> str:
    """Verified against when the user name is unknown, so timing does not tell names apart."""
    return hash_password("unused", salt=b"yamori-dummy-salt")
