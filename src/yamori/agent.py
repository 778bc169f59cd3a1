"""The agent: runs every probe on its interval (or at once when its source signals a change),
stores what they measure, feeds the alert engine, and serves /metrics and /healthz.

It decides nothing itself: probes read, the alert engine judges, notifiers deliver. One slow
or failing probe only makes that probe UNKNOWN.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .alerts.dependency import Dependencies
from .catalog import build_probes, build_services, web_actions
from .config import Settings
from .probe import Probe, ProbeResult, run_probe
from .records import Finding, Sample
from .statefiles import ensure_dir
from .systemd import notify as sd_notify

if TYPE_CHECKING:
    from .alerts.engine import Alerting
    from .store.base import Store

log = logging.getLogger("yamori.agent")

MAINTAIN_EVERY = 300.0  # seconds between store rollups/pruning
SETTLED_AFTER = 20.0    # seconds after start when start-up's garbage is handed back to the kernel


@dataclass
class AgentState:
    """What the views (status page, /metrics, /healthz) read; written only by the agent."""

    hostname: str
    started: float
    results: dict[str, ProbeResult] = field(default_factory=dict)
    service_samples: dict[str, list[Sample]] = field(default_factory=dict)
    services: list[str] = field(default_factory=list)
    listen: tuple[str, int] | None = None


class Agent:
    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        hostname = settings.agent.hostname or socket.gethostname()
        self.state = AgentState(hostname=hostname, started=clock())
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="yamori-store")
        self._stop = asyncio.Event()
        self.reload_requested = False
        self.store: Store | None = None
        self.alerting: Alerting | None = None
        self.dependencies = Dependencies.from_settings(settings)  # one root-cause alert per hop down
        self.ready = asyncio.Event()
        self.view: Any = None

    # -- lifecycle ---------------------------------------------------------------------
    def stop(self) -> None:
        self._stop.set()

    def request_reload(self) -> None:
        """SIGHUP: stop this run; the caller re-reads the config and starts again."""
        self.reload_requested = True
        self._stop.set()

    async def run(self, *, install_signals: bool = True) -> None:
        settings = self.settings
        ensure_dir(settings.agent.state_dir)  # 0700, whatever the umask
        self.store = await self._in_writer(_open_store, settings)
        self.alerting = _open_alerting(settings, self.state.hostname, self.clock)
        probes = build_probes(settings)
        services = build_services(settings)
        self.state.services = [s.name for s in services]
        if install_signals:
            self._install_signals()
        runner = await self._start_web()
        log.info("agent started: %d probes (%s), %d services, listening on %s", len(probes),
                 ", ".join(p.name for p in probes), len(services), self.state.listen)
        if not self.alerting.delivery_status().configured:
            log.warning("NO NOTIFIER IS CONFIGURED: alerts will not reach anyone. "
                        "Set [alerts.email] to = [...] or [alerts.webhook] url in the config.")
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._probe_loop(p)) for p in probes]
                tasks += [group.create_task(self._service(s)) for s in services]
                tasks.append(group.create_task(self._maintain_loop()))
                tasks.append(group.create_task(self.alerting.run()))
                self.ready.set()
                sd_notify("READY=1\nSTATUS=watching")
                await self._stop.wait()
                log.info("agent stopping")
                for task in tasks:
                    task.cancel()
        finally:
            sd_notify("STOPPING=1")
            await runner.close()
            self.alerting.close()
            await self._in_writer(self.store.close)
            self._writer.shutdown(wait=True)

    def _install_signals(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)

    async def _start_web(self) -> Any:
        from .web.server import start_web

        self.view = self._web_view()
        server = await start_web(self.view, self.settings.agent.listen, self.settings.web)
        self.state.listen = server.bound
        return server

    def _web_view(self) -> Any:
        """The small record the web server reads (it never sees the Agent itself)."""
        from .web.view import WebView

        settings = self.settings
        alerting = self.alerting
        assert alerting is not None

        async def in_store(func: Callable[[Store], Any]) -> Any:
            assert self.store is not None
            return await self._in_writer(func, self.store)

        actions = web_actions(settings, self.clock)

        return WebView(hostname=self.state.hostname, started=self.state.started, clock=self.clock,
                       results=self.state.results, service_samples=self.state.service_samples,
                       services=self.state.services, alerts=lambda: [a.as_json() for a in alerting.active()],
                       delivery=alerting.delivery_status, in_store=in_store, bans=actions.bans,
                       unban=actions.unban, run_audit=actions.run_audit, raid_arrays=actions.raid_arrays,
                       thresholds=thresholds(settings), equipment_class=settings.environment.equipment_class,
                       acknowledge=lambda rule, subject, who: alerting.acknowledge(rule, subject, who) is not None)

    async def _in_writer(self, func: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._writer, func, *args)

    # -- probes ------------------------------------------------------------------------
    async def _probe_loop(self, probe: Probe) -> None:
        wake = asyncio.Event()
        watcher = None
        events = probe.wake_events()
        if events is not None:
            watcher = asyncio.create_task(_forward_wakes(events, wake, probe.name))
        try:
            while True:
                await self.handle(await run_probe(probe, self.clock))
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(probe.interval):
                        await wake.wait()
                wake.clear()
        finally:
            if watcher:
                watcher.cancel()

    async def handle(self, result: ProbeResult) -> None:
        """Store a probe result and let the alert engine judge it."""
        self.state.results[result.name] = result
        if self.view is not None:
            self.view.durations.observe(result.name, result.duration)
        assert self.store is not None and self.alerting is not None
        try:
            await self._in_writer(_write_result, self.store, result, self.state.hostname)
        except Exception:  # a full disk must not stop the alerting path
            log.exception("store write failed for %s", result.name)
        self.alerting.observe(self.dependencies.fold(result))  # the engine logs each transition it makes
        if result.state.value and result.reason:
            log.debug("probe %s %s: %s", result.name, result.state.label, result.reason)

    async def _maintain_loop(self) -> None:
        from .heap import release_free_memory

        # start-up (imports, config models, the first round of probes and audit) leaves free
        # pages in the C heap; so does each rollup: give them back (the agent's RSS budget)
        await asyncio.sleep(SETTLED_AFTER)
        await self._in_writer(release_free_memory)
        while True:
            await asyncio.sleep(MAINTAIN_EVERY - SETTLED_AFTER)
            assert self.store is not None
            try:
                await self._in_writer(self.store.maintain, self.clock())
            except Exception:
                log.exception("store maintenance failed")
            await self._in_writer(release_free_memory)
            await asyncio.sleep(SETTLED_AFTER)

    # -- services ----------------------------------------------------------------------
    async def _service(self, service: Any) -> None:
        sink = _AgentSink(self)
        try:
            await service.run(sink)
        except asyncio.CancelledError:
            raise
        except Exception as err:  # a broken service is reported, never fatal
            log.exception("service %s stopped", service.name)
            sink.state(service.name, [Finding("service.failed", _critical(), service.name,
                                              f"the {service.name} service stopped: {err}",
                                              "see the agent's log; restart the agent after fixing the cause")])


class _AgentSink:
    """The agent's side of the service seam. Services may report from worker threads (the
    guard parses in one); the alert engine and its SQLite connection live on the loop's
    thread, so every call is carried over to it."""

    def __init__(self, agent: Agent) -> None:
        self.agent = agent
        self.loop = asyncio.get_running_loop()
        self.loop_thread = threading.get_ident()

    def _on_loop(self, func: Callable[..., object], *args: Any) -> None:
        if threading.get_ident() == self.loop_thread:
            func(*args)
        else:
            self.loop.call_soon_threadsafe(func, *args)

    def samples(self, service: str, samples: list[Sample]) -> None:
        self._on_loop(self._samples, service, samples)

    def event(self, service: str, finding: Finding) -> None:
        self._on_loop(self._remember, service, finding)
        if self.agent.alerting is not None:
            self._on_loop(self.agent.alerting.observe_event, service, finding)

    def state(self, service: str, findings: list[Finding]) -> None:
        if self.agent.alerting is not None:
            self._on_loop(self.agent.alerting.observe_state, service, findings)

    def report(self, service: str, check: str, subject: str, text: str) -> None:
        if self.agent.alerting is not None:
            self._on_loop(self.agent.alerting.report, service, check, subject, text)

    def _remember(self, service: str, finding: Finding) -> None:
        view = self.agent.view
        if view is not None:
            from .web.view import RecentEvent

            view.events.append(RecentEvent(self.agent.clock(), service, finding))

    def _samples(self, service: str, samples: list[Sample]) -> None:
        now = self.agent.clock()
        stamped = [s if s.time is not None else Sample(s.metric, s.value, s.labels, s.unit, now) for s in samples]
        self.agent.state.service_samples[service] = stamped
        store = self.agent.store
        if store is not None:
            self.agent._writer.submit(store.write_samples, host_labelled(stamped, self.agent.state.hostname))


def _critical() -> Any:
    from .records import Severity

    return Severity.CRITICAL


async def _forward_wakes(events: Any, wake: asyncio.Event, name: str) -> None:
    try:
        async for _ in events:
            wake.set()
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("change watcher for %s failed; falling back to the interval", name)


def _open_store(settings: Settings) -> Store:
    from .store import open_store

    return open_store(settings)


def _open_alerting(settings: Settings, hostname: str, clock: Callable[[], float]) -> Alerting:
    from .alerts.engine import Alerting

    return Alerting(settings.alerts, settings.agent.state_dir, hostname, clock=clock,
                    default_rules=default_rules(settings))


def default_rules(settings: Settings | None = None) -> list[Any]:
    """Threshold rules the domains ship (e.g. disk 90%/95%) and those the configured Munin
    plugins declare (field.warning/critical), as RuleSettings."""
    from .config.alerts import RuleSettings

    rules: list[RuleSettings] = []
    with contextlib.suppress(ImportError):
        from .system.metrics import DEFAULT_RULES

        rules.extend(RuleSettings.model_validate(rule) for rule in DEFAULT_RULES)
    if settings is not None:
        from .catalog import build_rules

        rules.extend(build_rules(settings))
    return rules


def host_labelled(samples: list[Sample], host: str) -> list[Sample]:
    """Every stored sample names its host ([agent] hostname), so agents sharing one
    PostgreSQL store stay apart."""
    return [s if "host" in s.labels else Sample(s.metric, s.value, {**s.labels, "host": host}, s.unit, s.time)
            for s in samples]


def thresholds(settings: Settings) -> dict[str, list[dict[str, Any]]]:
    """Alert thresholds per metric (default rules, then the config's), drawn on the graphs."""
    out: dict[str, list[dict[str, Any]]] = {}
    for rule in [*default_rules(), *settings.alerts.rules]:
        for level in ("warning", "critical"):
            value = getattr(rule, level)
            if value is not None:
                out.setdefault(rule.metric, []).append({"rule": rule.name, "level": level, "value": value,
                                                         "labels": dict(rule.labels)})
    return out


def _write_result(store: Store, result: ProbeResult, host: str) -> None:
    if result.samples:
        store.write_samples(host_labelled(result.samples, host))
    if result.state.label != "UNKNOWN":
        # an empty list closes the findings the probe no longer reports
        store.write_findings(result.name, result.findings, result.started)
