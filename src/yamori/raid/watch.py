"""Wake up when /proc/mdstat changes, the way `mdadm --monitor` does.

The kernel (drivers/md/md.c, mdstat_poll) reports POLLPRI|POLLERR on an open /proc/mdstat
once md_event_count moved past the value recorded when the file was last read; reading it
again from the start re-arms the event. mdadm (mdstat.c, mdstat_wait) selects on the fd's
"exceptional" set for exactly this. poll() blocks, so it runs in a thread with a short timeout
that lets the watch stop promptly when the agent cancels it.

A regular file (a fixture root in tests, or /proc/mdstat copied elsewhere) is always "ready"
to poll(), so there the watch compares the file's identity and content every `interval`.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import select
import threading
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from pathlib import Path

POLL_TIMEOUT_MS = 500  # how long the poll thread may take to notice it should stop


def on_procfs(path: Path, mounts: Path = Path("/proc/self/mounts")) -> bool:
    """True when `path` lives on a proc filesystem (where POLLPRI means "changed")."""
    try:
        target = path.resolve()
        table = mounts.read_text()
    except OSError:
        return False
    best, fstype = "", ""
    for line in table.splitlines():
        fields = line.split()
        if len(fields) < 3:
            continue
        point = fields[1].replace("\\040", " ")
        if (target == Path(point) or Path(point) in target.parents) and len(point) > len(best):
            best, fstype = point, fields[2]
    return fstype == "proc"


async def watch_mdstat(path: Path, interval: float = 0.25) -> AsyncIterator[None]:
    """Yield once per observed change of `path` (never for the state found at start)."""
    source = _watch_pollpri(path) if on_procfs(path) else _watch_content(path, interval)
    try:
        async for _ in source:
            yield None
    finally:
        await source.aclose()  # stops the poll thread now, not when the generator is collected


def poll_changes(path: Path, notify: Callable[[], None], stop: threading.Event) -> None:
    """Blocking loop: read (arms), poll for POLLPRI|POLLERR, re-read, notify; until `stop`."""
    with open(path, "rb") as handle:
        handle.read()
        poller = select.poll()
        poller.register(handle, select.POLLPRI | select.POLLERR)
        while not stop.is_set():
            if poller.poll(POLL_TIMEOUT_MS):
                handle.seek(0)
                handle.read()
                notify()


async def _watch_pollpri(path: Path) -> AsyncGenerator[None, None]:
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[BaseException | None] = asyncio.Queue()
    stop = threading.Event()

    def notify(item: BaseException | None = None) -> None:
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop closed while the thread was polling
            stop.set()

    def run() -> None:
        try:
            poll_changes(path, notify, stop)
        except OSError as err:
            notify(err)

    thread = threading.Thread(target=run, name=f"watch {path}", daemon=True)
    thread.start()
    try:
        while True:
            item = await queue.get()
            if item is not None:
                return  # the file went away (md module unloaded): fall back to the interval
            yield None
    finally:
        stop.set()


def _signature(path: Path) -> tuple[int, int, int, bytes] | None:
    try:
        stat = os.stat(path)
        digest = hashlib.blake2b(path.read_bytes(), digest_size=16).digest()
    except OSError:
        return None
    return stat.st_ino, stat.st_size, stat.st_mtime_ns, digest


async def _watch_content(path: Path, interval: float) -> AsyncGenerator[None, None]:
    last = _signature(path)
    while True:
        await asyncio.sleep(interval)
        current = _signature(path)
        if current != last:
            last = current
            yield None
