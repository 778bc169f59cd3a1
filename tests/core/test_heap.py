"""yamori.heap: the agent's C heap and aiohttp's CA bundles (the agent's RSS budget)."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from yamori import heap


def _glibc() -> str | None:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return None


GLIBC = _glibc()

PROBE = ("import json, os, sys\nfrom yamori.heap import import_aiohttp\nimport_aiohttp()\n"
         "import aiohttp.connector as c\n"
         "print(json.dumps([c._SSL_CONTEXT_VERIFIED.cert_store_stats()['x509'], os.environ.get('SSL_CERT_FILE')]))")


def _probe(env: dict[str, str]) -> tuple[int, str | None]:
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60,
                         check=True)
    count, given = json.loads(out.stdout)
    return int(count), given


@pytest.mark.skipif(not GLIBC, reason="malloc arenas and malloc_trim are glibc's; elsewhere these do nothing")
def test_glibc_heap_calls_take_effect() -> None:
    assert heap.limit_arenas(2) is True
    assert heap.release_free_memory() is True


def test_aiohttp_imported_without_its_ca_copies_and_the_environment_restored() -> None:
    capath = ssl.get_default_verify_paths().capath
    if not capath or not Path(capath).is_dir():
        pytest.skip("this machine has no CA directory (import_aiohttp then imports aiohttp as usual)")
    env = {k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"}
    assert _probe(env) == (0, None)
    inside = str(Path(capath) / "ca-certificates.crt")
    assert _probe({**env, "SSL_CERT_FILE": inside}) == (0, inside)


def test_an_operators_own_ca_file_is_left_alone(tmp_path: Path) -> None:
    bundle = ssl.get_default_verify_paths().cafile or ssl.get_default_verify_paths().openssl_cafile
    if not bundle or not Path(bundle).is_file():
        pytest.skip("no system CA bundle on this machine to copy")
    own = tmp_path / "my-cas.pem"
    own.write_bytes(Path(bundle).read_bytes())
    count, given = _probe({**os.environ, "SSL_CERT_FILE": str(own)})
    assert count > 0 and given == str(own)
