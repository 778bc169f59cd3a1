"""SSH connections along a route with asyncssh: every hop's host key checked against the pinned
one, every inner hop tunnelled through the previous connection (`tunnel=`).

There is no fallback: a hop that fails to connect or to prove its key ends the whole attempt.
The target is only ever reached through a channel of the jump host's connection, so nothing
typed for the target can end up in a shell on the jump host. ~/.ssh/config and known_hosts
are not read (config=None, known_hosts = the pinned key only).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any

from .identity import Mismatch
from .route import Hop, RemoteError, Route

if TYPE_CHECKING:
    import asyncssh

CONNECT_TIMEOUT = 15.0


class UnreachableError(RemoteError):
    """A hop could not be reached or refused us; nothing ran."""

    def __init__(self, hop: str, message: str) -> None:
        super().__init__(f"{hop}: {message}")
        self.hop = hop


class RefusedError(RemoteError):
    """A hop is not the machine the inventory names; nothing ran."""

    def __init__(self, hop: str, mismatches: list[Mismatch]) -> None:
        lines = "; ".join(str(m) for m in mismatches)
        super().__init__(f"{hop} is not who it should be: {lines}. Nothing was run.")
        self.hop = hop
        self.mismatches = mismatches


def fingerprint(key_line: str) -> str:
    import asyncssh

    key: Any = asyncssh.import_public_key(key_line)
    return str(key.get_fingerprint("sha256"))


def _options(hop: Hop, timeout: float) -> dict[str, Any]:
    import asyncssh

    assert hop.host_key is not None
    pinned = asyncssh.import_public_key(hop.host_key)
    options: dict[str, Any] = {
        "port": hop.port,
        "known_hosts": ([pinned], [], []),  # this key and no other; no CA, no TOFU
        "config": None,  # ~/.ssh/config could redirect the host (ProxyCommand, HostName)
        "connect_timeout": timeout,
        "login_timeout": timeout,
        "keepalive_interval": 5,  # a connection that goes silent is declared lost, not waited on
        "keepalive_count_max": 3,
        "password_auth": False,
        "kbdint_auth": False,
        "gss_auth": False,
        "host_based_auth": False,
        "request_pty": False,
        "agent_forwarding": False,
        "x11_forwarding": False,
    }
    if hop.user:
        options["username"] = hop.user
    if hop.identity:
        options["client_keys"] = [hop.identity]
        options["agent_path"] = None
    return options


async def _answered_key(hop: Hop, tunnel: asyncssh.SSHClientConnection | None, timeout: float) -> str:
    """The host key the hop presents now (key exchange only, no login), for the refusal message."""
    import asyncssh

    assert hop.host_key is not None
    algorithm = hop.host_key.split()[0]
    for algs in ([algorithm], ()):
        try:
            key: Any = await asyncio.wait_for(asyncssh.get_server_host_key(
                hop.address, hop.port, tunnel=tunnel if tunnel is not None else (), config=None,
                server_host_key_algs=algs), timeout)
        except (TimeoutError, OSError, asyncssh.Error):
            continue
        if key is not None:
            return f"{key.algorithm.decode()} {key.get_fingerprint('sha256')}"
    return "(could not read it)"


async def connect_hop(hop: Hop, tunnel: asyncssh.SSHClientConnection | None,
                      timeout: float = CONNECT_TIMEOUT) -> asyncssh.SSHClientConnection:
    import asyncssh

    try:
        return await asyncssh.connect(hop.address, tunnel=tunnel if tunnel is not None else (),
                                      **_options(hop, timeout))
    except asyncssh.HostKeyNotVerifiable:
        assert hop.host_key is not None
        expected = f"{hop.host_key.split()[0]} {fingerprint(hop.host_key)}"
        answered = await _answered_key(hop, tunnel, timeout)
        raise RefusedError(hop.name, [Mismatch("host key", expected, answered)]) from None
    except asyncssh.PermissionDenied as err:
        raise UnreachableError(hop.name, f"login as {hop.user or 'the current user'} refused at {hop.where} "
                               f"({err.reason})") from None
    except asyncssh.ChannelOpenError as err:
        raise UnreachableError(hop.name, f"the jump host could not open a connection to {hop.where}: "
                               f"{err.reason}") from None
    except asyncssh.Error as err:
        raise UnreachableError(hop.name, f"SSH to {hop.where} failed: {err.reason}") from None
    except (TimeoutError, OSError) as err:
        reason = getattr(err, "strerror", None) or str(err) or "timed out"
        raise UnreachableError(hop.name, f"cannot connect to {hop.where}: {reason}") from None


@asynccontextmanager
async def open_route(route: Route, timeout: float = CONNECT_TIMEOUT) -> AsyncIterator[asyncssh.SSHClientConnection]:
    """Connected to the target through every jump; all connections closed afterwards."""
    async with AsyncExitStack() as stack:
        tunnel = None
        for hop in route.hops:
            connection = await connect_hop(hop, tunnel, timeout)
            stack.push_async_callback(_close, connection)
            tunnel = connection
        assert tunnel is not None
        yield tunnel


async def _close(connection: asyncssh.SSHClientConnection) -> None:
    connection.close()
    with suppress(asyncio.TimeoutError, OSError):
        await asyncio.wait_for(connection.wait_closed(), 5)


async def host_key_of(route: Route, timeout: float = CONNECT_TIMEOUT) -> Any:
    """The target's host key as presented now, reached through its (verified) jump hosts; for
    pinning. Returns an asyncssh SSHKey, or None."""
    import asyncssh

    target = route.target
    async with AsyncExitStack() as stack:
        tunnel = None
        for hop in route.jumps:
            tunnel = await connect_hop(hop, tunnel, timeout)
            stack.push_async_callback(_close, tunnel)
        try:
            return await asyncio.wait_for(asyncssh.get_server_host_key(
                target.address, target.port, tunnel=tunnel if tunnel is not None else (), config=None), timeout)
        except asyncssh.ChannelOpenError as err:
            raise UnreachableError(target.name, f"the jump host could not open a connection to {target.where}: "
                                   f"{err.reason}") from None
        except asyncssh.Error as err:
            raise UnreachableError(target.name, f"SSH to {target.where} failed: {err.reason}") from None
        except (TimeoutError, OSError) as err:
            reason = getattr(err, "strerror", None) or str(err) or "timed out"
            raise UnreachableError(target.name, f"cannot connect to {target.where}: {reason}") from None
