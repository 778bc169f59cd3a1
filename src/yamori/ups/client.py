"""Reading one UPS's variables from `upsd` over the NUT protocol (aionut: asyncio, Apache-2.0).

Every way this can fail (refused, timed out, login refused, unknown UPS, a stale driver, bytes
that are not the protocol) becomes `UpsUnreachable` with a sentence for the operator. The
password comes from the environment variable the config names and is never shown.
"""

from __future__ import annotations

import asyncio
import os

from ..config.environment import UpsEntry


class UpsUnreachable(Exception):
    pass


# upsd's ERR codes (docs/net-protocol.txt) in the operator's words
_NUT_ERRORS = {
    "UNKNOWN-UPS": "upsd knows no UPS of that name (check `upsc -l HOST`)",
    "DATA-STALE": "upsd has stale data: the driver lost contact with the UPS (cable, USB, driver crash)",
    "DRIVER-NOT-CONNECTED": "upsd is not connected to the UPS's driver (is the driver running?)",
    "ACCESS-DENIED": "upsd refused the login (username/password in upsd.users)",
    "USERNAME-REQUIRED": "upsd wants a username",
    "PASSWORD-REQUIRED": "upsd wants a password",
}


def password_for(entry: UpsEntry) -> str | None:
    if entry.password_env is None:
        return None
    value = os.environ.get(entry.password_env)
    if value is None:
        raise UpsUnreachable(f"environment variable {entry.password_env} (password_env) is not set")
    if not value or any(c.isspace() or not c.isprintable() for c in value):
        raise UpsUnreachable(f"the password in {entry.password_env} is empty or contains spaces or control characters")
    return value


def _explain(err: BaseException) -> str:
    text = str(err)
    for code, words in _NUT_ERRORS.items():
        if code in text:
            return words
    if isinstance(err, TimeoutError) or "Timeout" in type(err).__name__:
        return "no answer in time"
    if isinstance(err, asyncio.IncompleteReadError):
        return "upsd closed the connection in the middle of an answer"
    for candidate in (err.__cause__ or err.__context__, err):
        if isinstance(candidate, OSError) and (candidate.errno or candidate.strerror):
            # asyncio words a refused connect "Connect call failed (addr)": say what errno says
            return os.strerror(candidate.errno) if candidate.errno else str(candidate.strerror)
    shown = "".join(c if c.isprintable() else "?" for c in text)[:160]
    return f"not a NUT answer ({type(err).__name__}: {shown})"


async def read_variables(entry: UpsEntry, timeout: float) -> dict[str, str]:
    from aionut import AIONUTClient  # lazy: only agents with a UPS pay for it

    password = password_for(entry)
    client = AIONUTClient(entry.host, entry.port, entry.username, password, timeout=timeout, persistent=False)
    try:
        async with asyncio.timeout(timeout * 2 + 1):  # aionut retries once on a dropped connection
            return await client.list_vars(entry.name)
    except asyncio.CancelledError:
        raise
    except Exception as err:  # any failure of a remote server is data for the operator
        raise UpsUnreachable(_explain(err)) from None
    finally:
        client.shutdown()
