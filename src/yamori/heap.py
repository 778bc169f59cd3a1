"""The agent's C heap (glibc malloc), kept inside its RSS budget.

glibc keeps what Python frees: the start-up (compiling modules, building the config models,
the first audit) leaves megabytes of free pages mapped, and every thread that allocates gets
an arena of its own. Both are told here; elsewhere (musl) these calls do nothing. And aiohttp,
imported for the web server, would load the system CA bundle twice for a client the agent
does not use (import_aiohttp).
"""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from typing import Any

M_ARENA_MAX = -8  # mallopt parameter, <malloc.h>


@functools.cache
def _libc() -> Any:
    try:
        return ctypes.CDLL(None)   # the C library this interpreter is linked with
    except OSError:
        return None


def _glibc(function: str) -> Any:
    libc = _libc()
    return getattr(libc, function, None) if libc is not None else None


def limit_arenas(count: int = 2) -> bool:
    """At most `count` malloc arenas, whatever the number of threads (before threads start)."""
    mallopt = _glibc("mallopt")
    return bool(mallopt is not None and mallopt(M_ARENA_MAX, count) == 1)


def release_free_memory() -> bool:
    """Hand the heap's free pages back to the kernel (a few ms; no garbage collection, which
    would cost more CPU than a whole collection cycle of the probes)."""
    trim = _glibc("malloc_trim")
    if trim is None:
        return False
    trim(0)
    return True


def import_aiohttp() -> None:
    """Import aiohttp without its two module-wide client SSL contexts each loading the system
    CA bundle (~1.9 MB resident): during the import OpenSSL is given no CA *file*, so those
    contexts look CAs up in the CA *directory* (/etc/ssl/certs, by hash, when a certificate is
    verified) instead of holding all of them. yamori's own clients (webhook, path checks) make
    their own contexts. Call it before any thread starts (it sets an environment variable)."""
    import ssl

    capath = ssl.get_default_verify_paths().capath   # SSL_CERT_DIR, else OpenSSL's default
    given = os.environ.get("SSL_CERT_FILE")
    # a CA file of the operator's own may hold CAs the directory lacks: then leave it be;
    # Debian's bundle (/etc/ssl/certs/ca-certificates.crt) is made from that very directory
    ours = given is None or (capath is not None
                             and os.path.dirname(os.path.realpath(given)) == os.path.realpath(capath))
    if "aiohttp" in sys.modules or not ours or not capath or not os.path.isdir(capath):
        import aiohttp  # as usual: nothing to save, or no CA directory to fall back on

        return
    os.environ["SSL_CERT_FILE"] = os.devnull
    try:
        import aiohttp.connector  # noqa: F401
    finally:
        if given is None:
            del os.environ["SSL_CERT_FILE"]
        else:
            os.environ["SSL_CERT_FILE"] = given
