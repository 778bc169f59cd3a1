"""The agent's path probe: one round per path on its interval, the verdict over the last rounds,
SmokePing-style history (median and spread of RTT, loss per round, per hop and target)."""

from __future__ import annotations

import statistics
import time
from collections import deque

from ...config import Settings
from ...probe import Probe
from ...records import Finding, Record, Sample, Severity
from . import icmp
from .history import Intermittency
from .http import HeldSession
from .measure import Options, measure
from .model import Icmp, Round
from .plan import PathPlan, PlanError, resolve
from .run import here
from .verdict import Verdict, judge

ROUNDS_JUDGED = 10   # loss and latency are judged over this many rounds (5 min at 30 s)


def icmp_samples(icmp_result: Icmp, labels: dict[str, str]) -> list[Sample]:
    samples = [Sample("net_loss_percent", icmp_result.loss_percent, labels, "percent")]
    rtts = sorted(icmp_result.rtts_ms)
    if rtts:
        samples += [
            Sample("net_rtt_median_ms", statistics.median(rtts), labels, "ms"),
            Sample("net_rtt_min_ms", rtts[0], labels, "ms"),
            Sample("net_rtt_max_ms", rtts[-1], labels, "ms"),
            Sample("net_rtt_spread_ms", rtts[-1] - rtts[0], labels, "ms"),
        ]
    return samples


def round_samples(measured: Round) -> list[Sample]:
    samples: list[Sample] = []
    for hop in measured.hops:
        labels = {"path": measured.path, "hop": hop.hop.name}
        samples += icmp_samples(hop.icmp, labels)
        for service in hop.tcp:
            samples.append(Sample("net_tcp_failures", float(service.failed),
                                  {**labels, "port": str(service.port)}, ""))
    for target in measured.targets:
        labels = {"path": measured.path, "target": target.target.url}
        if target.icmp is not None:
            samples += icmp_samples(target.icmp, labels)
        samples.append(Sample("net_tcp_failures", float(target.tcp.failed), labels, ""))
        if target.tcp.connect_ms:
            samples.append(Sample("net_tcp_connect_ms", statistics.median(target.tcp.connect_ms), labels, "ms"))
        http = target.http
        if http is not None:
            samples.append(Sample("net_http_ok", 1.0 if http.ok else 0.0, labels, ""))
            if http.latency_ms:
                samples.append(Sample("net_http_latency_ms", statistics.median(http.latency_ms), labels, "ms"))
            if http.tls is not None and http.tls.days_left is not None:
                samples.append(Sample("net_tls_days_left", http.tls.days_left, labels, "days"))
    return samples


class PathProbe(Probe):
    def __init__(self, plan: PathPlan, settings: Settings) -> None:
        self.plan = plan
        self.name = f"net.{plan.name}"
        entry = plan.settings
        self.interval = entry.interval
        spread = min(5.0, entry.interval / 3)
        self.options = Options(count=entry.count, spread=spread, attempts=3, timeout=entry.timeout,
                               privileged=icmp.choose_privileged(settings.agent.proc), cafile=entry.ca_file,
                               proc=settings.agent.proc)
        self.timeout = spread + 4 * entry.timeout + 5.0
        self.here = here(settings)
        self.rounds: deque[Round] = deque(maxlen=ROUNDS_JUDGED)
        self.held: dict[str, HeldSession] = {}
        self.history = Intermittency(plan.name)
        self.last: Verdict | None = None

    async def collect_async(self) -> list[Record]:
        measured = await measure(self.plan, self.options, self.held)
        self.rounds.append(measured)
        # reachability from the latest round alone; loss and latency over the recent rounds
        verdict = judge(self.plan, list(self.rounds), self.here)
        self.last = verdict
        return [*round_samples(measured), *self.findings(verdict, measured.started)]

    def findings(self, verdict: Verdict, now: float | None = None) -> list[Finding]:
        now = time.time() if now is None else now
        alerts = [f for f in verdict.findings if f.severity is not Severity.INFO]
        worst = max(alerts, key=lambda f: f.severity.rank, default=None)
        self.history.record(now, worst)
        summary = self.history.summary(now)
        if summary is None:
            return list(verdict.findings)
        # came and went often: one standing summary instead of alerts that open and close
        held_back = [Finding(f.check, Severity.INFO, f.subject, f.message, f.advice) for f in verdict.findings]
        return [summary, *held_back]


class UnresolvedPath(Probe):
    """A path naming a host the inventory lacks: reported UNKNOWN with the reason every round."""

    def __init__(self, name: str, problem: str, interval: float) -> None:
        self.name = f"net.{name}"
        self.problem = problem
        self.interval = interval

    def collect(self) -> list[Record]:
        raise PlanError(self.problem)


def probes(settings: Settings) -> list[Probe]:
    result: list[Probe] = []
    for index, entry in enumerate(settings.network.paths):
        try:
            plan = resolve(entry, settings.inventory, index)
        except PlanError as err:
            # UNKNOWN with the key named, never a crash
            result.append(UnresolvedPath(entry.name, str(err), entry.interval))
            continue
        result.append(PathProbe(plan, settings))
    return result
