"""Wake the tailer when PostgreSQL writes, instead of polling every half second.

An idle agent that stat()s the logs twice a second spends more CPU on that than on all its
probes together (cold caches make each wake ~0.4 ms). inotify on the log directories wakes
the tailer the moment a line is appended, rotated or a new file appears; a slow re-check
stays as a safety net (NFS, a directory created later). Without inotify: plain polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import logging
import os
from typing import Any

log = logging.getLogger("yamori.guard")


class DirectoryWatch:
    def __init__(self, patterns: list[str]) -> None:
        self.directories = sorted({os.path.dirname(p) or "." for p in patterns})
        self.complete = False      # every directory is watched: the slow re-check is enough
        self._event = asyncio.Event()
        self._inotify: Any = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> bool:
        """Watch what can be watched; False when inotify is not available at all."""
        try:
            from asyncinotify import Inotify, Mask
            self._inotify = Inotify()
        except (ImportError, OSError) as err:
            log.info("inotify unavailable (%s): the guard polls the logs instead", err)
            return False
        mask = (Mask.MODIFY | Mask.CREATE | Mask.MOVED_TO | Mask.MOVED_FROM | Mask.DELETE
                | Mask.CLOSE_WRITE | Mask.ATTRIB)
        watched = 0
        for directory in self.directories:
            if glob.has_magic(directory):
                continue   # a pattern in the directory part: only polling can follow it
            with contextlib.suppress(OSError):
                self._inotify.add_watch(directory, mask)
                watched += 1
        if watched == 0:
            self.close()
            return False
        self.complete = watched == len(self.directories)
        self._task = asyncio.create_task(self._pump())
        return True

    async def _pump(self) -> None:
        async for _event in self._inotify:
            self._event.set()

    async def wait(self, timeout: float) -> None:
        """Until a watched directory changes, or `timeout` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self._event.wait()
        self._event.clear()

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None
