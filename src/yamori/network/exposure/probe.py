"""The exposure probe in the agent, at a low rate (default daily). Its findings are standing
state: the alert engine alerts when a (check, subject) appears, once, and when it is gone."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from ...config import Settings
from ...probe import Probe
from ...records import Finding, Record, Sample, Severity
from .runner import findings, run
from .targets import all_targets


class ExposureProbe(Probe):
    name = "net.exposure"

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        # an agent restart must not re-probe every device: the last run's time and findings persist
        self.last = Path(settings.agent.state_dir) / "exposure-last.json"
        ex = settings.network.exposure
        self.interval = ex.interval
        self.targets = all_targets(settings.inventory)
        sends = len(self.targets) * len(ex.services)
        self.timeout = 30.0 + sends / ex.rate + len(self.targets) * ex.wait

    def collect(self) -> Iterable[Record]:
        recent = self._recent()
        if recent is not None:
            return recent
        reports = run(self.targets, self.settings.network.exposure)
        found = findings(reports)
        self._remember(found)
        answered = sum(m.answered for r in reports for m in r.services)
        return [*found, Sample("net_exposure_answering", float(answered))]

    def _recent(self) -> list[Record] | None:
        try:
            data = json.loads(self.last.read_text(encoding="utf-8"))
            if self.clock() - float(data["time"]) >= self.interval * 0.95:
                return None
            return [Finding(f["check"], Severity(f["severity"]), f["subject"], f["message"], f["advice"])
                    for f in data["findings"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None     # no usable record of the last run: probe now

    def _remember(self, found: list[Finding]) -> None:
        data = {"time": self.clock(), "findings": [f.as_json() for f in found]}
        tmp = self.last.with_suffix(".tmp")
        try:
            self.last.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data), encoding="utf-8")
            os.replace(tmp, self.last)
        except OSError:
            pass        # the next start probes again; nothing is lost but one day's rate


def probes(settings: Settings) -> list[Probe]:
    ex = settings.network.exposure
    return [ExposureProbe(settings)] if ex.enabled and all_targets(settings.inventory) else []
