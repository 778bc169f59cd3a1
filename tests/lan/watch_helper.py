"""Run the agent's neighbour watcher in the current namespace (the test starts this under
`ip netns exec`): each alert is printed as one JSON line; stops after argv[2] seconds."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys

from yamori.config import Settings
from yamori.network.lan.service import NeighbourService
from yamori.records import Finding, Sample


class LineSink:
    def samples(self, service: str, samples: list[Sample]) -> None:
        pass

    def event(self, service: str, finding: Finding) -> None:
        print(json.dumps({"event": finding.as_json()}), flush=True)

    def state(self, service: str, findings: list[Finding]) -> None:
        print(json.dumps({"state": [f.as_json() for f in findings]}), flush=True)

    def report(self, service: str, check: str, subject: str, text: str) -> None:
        pass


async def main(settings: Settings, seconds: float) -> None:
    service = NeighbourService(settings)
    task = asyncio.create_task(service.run(LineSink()))
    done, _ = await asyncio.wait([task], timeout=seconds)
    if task in done:
        task.result()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


if __name__ == "__main__":
    asyncio.run(main(Settings.model_validate(json.loads(sys.argv[1])), float(sys.argv[2])))
