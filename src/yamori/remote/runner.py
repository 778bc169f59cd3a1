"""Run one command on a verified target: connect along the route, prove who answered (host key
by the connection itself, then `uname -n` and /etc/machine-id over the same connection), and only
then run the command. Exit code and output pass through; a connection that drops while the
command runs is an error whose outcome is unknown, never a quiet success.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from .connect import CONNECT_TIMEOUT, RefusedError, UnreachableError, fingerprint, open_route
from .identity import MAX_ANSWER, answer, compare
from .route import Hop, RemoteError, Route, command_line

if TYPE_CHECKING:
    import asyncssh

Sink = Callable[[bytes], None]


def stream_sink(stream: BinaryIO) -> Sink:
    """Pass remote output on as it arrives (flushed: a person may be watching)."""

    def sink(data: bytes) -> None:
        stream.write(data)
        stream.flush()

    return sink

VERIFY_TIMEOUT = 15.0


class DroppedError(RemoteError):
    """The connection ended while the command ran; whether it finished is unknown."""


@dataclass(frozen=True, slots=True)
class Verified:
    route: Route
    hostname: str
    machine_id: str | None
    key_fingerprint: str

    def describe(self) -> str:
        target = self.route.target
        extra = f", machine-id {self.machine_id}" if target.machine_id else ""
        via = f" via {' -> '.join(j.name for j in self.route.jumps)}" if self.route.jumps else ""
        return (f"{target.name} ({target.where}{via}): host key {self.key_fingerprint}, "
                f"hostname {self.hostname}{extra}")


async def _read_one(connection: asyncssh.SSHClientConnection, command: str) -> str | None:
    """The first MAX_ANSWER bytes `command` prints; None when it fails. A host that answers
    endlessly is cut off, not buffered."""
    import asyncssh

    async def read() -> str | None:
        process: Any = await connection.create_process(command, encoding=None, stderr=asyncssh.DEVNULL)
        try:
            process.stdin.write_eof()
            data = b""
            while len(data) <= MAX_ANSWER:
                chunk = await process.stdout.read(MAX_ANSWER + 1 - len(data))
                if not chunk:
                    break
                data += chunk
            if len(data) > MAX_ANSWER:
                return answer(data)  # too long to be right: shown cut, compared as is
            await process.wait_closed()
        finally:
            process.close()
        return answer(data) if process.exit_status == 0 else None

    try:
        return await asyncio.wait_for(read(), VERIFY_TIMEOUT)
    except (TimeoutError, asyncssh.Error, OSError):
        return None


async def verify(connection: asyncssh.SSHClientConnection, route: Route) -> Verified:
    """Hostname and machine-id of the connected target; RefusedError on any mismatch."""
    target = route.target
    hostname = await _read_one(connection, "uname -n")
    machine_id = await _read_one(connection, "cat /etc/machine-id") if target.machine_id else None
    mismatches = compare(target, hostname, machine_id)
    if mismatches:
        raise RefusedError(target.name, mismatches)
    assert target.host_key is not None and hostname is not None
    return Verified(route, hostname, machine_id, fingerprint(target.host_key))


async def run(route: Route, argv: Sequence[str], *, out: Sink, err: Sink, stdin: bytes | None = None,
              dry_run: bool = False, timeout: float = CONNECT_TIMEOUT,
              on_verified: Callable[[Verified], None] | None = None) -> int:
    """Verify the target, then run argv there (unless dry_run). Returns the remote exit code
    (128 + N when killed by signal N); raises RemoteError when nothing ran or the end is unknown."""
    command = command_line(argv)
    async with open_route(route, timeout) as connection:
        verified = await verify(connection, route)
        if on_verified is not None:
            on_verified(verified)
        if dry_run:
            return 0
        return await _run_command(connection, route.target, command, out, err, stdin)


async def _run_command(connection: asyncssh.SSHClientConnection, target: Hop, command: str, out: Sink,
                       err: Sink, stdin: bytes | None) -> int:
    import asyncssh

    try:
        process: Any = await connection.create_process(command, encoding=None, term_type=None)
    except (asyncssh.Error, OSError) as error:
        raise UnreachableError(target.name, f"could not start the command: {error}") from None

    async def pump(stream: Any, sink: Sink) -> None:
        while True:
            chunk = await stream.read(65536)
            if not chunk:
                return
            sink(bytes(chunk))

    try:
        if stdin:
            process.stdin.write(stdin)
        process.stdin.write_eof()
        await asyncio.gather(pump(process.stdout, out), pump(process.stderr, err))
        await process.wait_closed()
    except (asyncssh.Error, OSError, BrokenPipeError) as error:
        raise DroppedError(f"{target.name}: the connection dropped while the command ran ({error}); "
                           "whether it finished is unknown") from None
    status, exit_signal = process.exit_status, process.exit_signal
    if status is not None and status >= 0:
        return int(status)
    if exit_signal is not None:
        name = str(exit_signal[0])
        number = getattr(signal, f"SIG{name}", None)
        return 128 + int(number) if number is not None else 255
    raise DroppedError(f"{target.name}: the connection dropped while the command ran (no exit status came "
                       "back); whether it finished is unknown")


def run_captured(route: Route, argv: Sequence[str], stdin: str | None = None,
                 timeout: float = CONNECT_TIMEOUT) -> tuple[int, str, str]:
    """Blocking form for runbooks: verify, run, return (exit code, stdout, stderr)."""
    out: list[bytes] = []
    err: list[bytes] = []
    code = asyncio.run(run(route, argv, out=out.append, err=err.append,
                           stdin=stdin.encode() if stdin is not None else None, timeout=timeout))
    return code, b"".join(out).decode("utf-8", "replace"), b"".join(err).decode("utf-8", "replace")


def step_runner(route: Route, timeout: float = CONNECT_TIMEOUT) -> Callable[[Sequence[str], str | None], str]:
    """A runbook `Runner` (run(argv, stdin) -> stdout, raising on a non-zero exit) whose every
    step connects, verifies the target again and runs there; for failover and RAID steps."""

    def run_step(argv: Sequence[str], stdin: str | None) -> str:
        code, out, err = run_captured(route, argv, stdin, timeout)
        if code != 0:
            raise RemoteError(f"`{command_line(argv)}` on {route.target.name} exited {code}: {err.strip()[:300]}")
        return out

    return run_step
