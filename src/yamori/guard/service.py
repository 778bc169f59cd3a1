"""The guard as an agent service: tail the logs, classify each failure, alert, ban."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..config.model import Settings
from ..inventory import Inventory
from ..postgres.log.catalog import catalog_problems
from ..postgres.log.prefix import PrefixError
from ..postgres.log.read import LogReader, detect_format
from ..postgres.log.structured import LogFormatError
from ..records import AuthEvent, Finding, ParseProblem, Sample, Severity
from ..service import Sink
from . import nft
from .bans import BanStore
from .digest import Digest
from .formats import FormatMatch
from .journal import JournalReader
from .policy import Ban, Policy, event_epoch, refused
from .protect import Protected, host_dependencies
from .serverconf import server_log_settings_why
from .tail import Tailer
from .wake import DirectoryWatch

RECHECK_WITH_INOTIFY = 5.0   # seconds between safety-net checks when inotify watches every log directory
PRIME = 1 << 20     # bytes re-read behind a resume point, as lookback for `connection received`


def services(settings: Settings) -> list[GuardService]:
    g = settings.guard
    if not g.enabled:
        return []
    service = GuardService(settings)
    return [service] if service.files() or g.journal else []


class GuardService:
    name = "guard"

    def __init__(self, settings: Settings, *, clock: Callable[[], float] = time.time,
                 on_event: Callable[[AuthEvent], None] | None = None, root: Path = Path("/")) -> None:
        self.settings = settings
        self.root = root      # where etc/resolv.conf is read (tests pass a tree of their own)
        self.g = settings.guard
        self.clock = clock
        self.on_event = on_event
        state = Path(settings.agent.state_dir)
        self.tailer = Tailer(self.g.logs, state, backlog=self.g.backlog, clock=clock)
        self.bans = BanStore(state)
        self.policy = Policy(self.g, Inventory(settings.inventory), clock=clock, max_sources=self.g.max_sources)
        self.readers: dict[str, LogReader] = {}
        self.formats = FormatMatch()
        self.counts: Counter[str] = Counter()
        self.digest = Digest()
        self.digest_day = self._day()
        self.nft_ok = False
        self.first_start = self.tailer.first_start
        self.prefix: str | None = self.g.log_line_prefix or None
        self.log_timezone: str | None = self.g.log_timezone or None
        self.locale_dir = str(settings.agent.locale_dir)
        self.journal: JournalReader | None = None
        self.state = state

    def files(self) -> list[str]:
        return self.tailer.files()

    def _day(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).strftime("%Y-%m-%d")

    # -- start -------------------------------------------------------------------------------
    def protect(self, sink: Sink | None) -> Protected:
        """(Re)read what the host depends on; the policy and every ban check it."""
        protected = host_dependencies(self.settings, root=self.root)
        self.policy.protected = protected
        if sink is not None and protected.problems:
            sink.event(self.name, Finding(
                "guard.protect_incomplete", Severity.WARNING, "guard",
                "some addresses the host depends on could not be read, so they are not protected from bans: "
                + "; ".join(protected.problems[:5]),
                "Fix the names or files above; until then a forged log could ban them."))
        return protected

    def start(self, sink: Sink) -> None:
        protected = self.protect(sink)
        for problem in catalog_problems(tuple(self.g.languages), self.locale_dir):
            sink.event(self.name, Finding("guard.catalog_unreadable", Severity.WARNING, problem.file, str(problem),
                                          "Reinstall or remove the file; until then the translated lines only "
                                          "yamori's own message data knows are recognised.", file=problem.file))
        if self.prefix is None or self.log_timezone is None:
            prefix, zone, why = server_log_settings_why(self.settings)
            self.prefix = self.prefix or prefix
            self.log_timezone = self.log_timezone or zone
            if why is not None and self.settings.postgres.servers:
                sink.event(self.name, Finding("guard.server_settings_unknown", Severity.INFO, "guard",
                                              f"{why}; the log prefix is guessed from the log itself",
                                              "Set [guard] log_line_prefix and log_timezone to be exact."))
        if self.g.journal and self.journal is None:
            self.journal = JournalReader(self.state, ident=self.g.syslog_ident, prefix=self.prefix,
                                         langs=tuple(self.g.languages), command=list(self.g.journalctl),
                                         since=self.clock() - self.g.backlog, log_timezone=self.log_timezone,
                                         locale_dir=self.locale_dir)
            try:
                self.journal.start()
            except OSError as err:
                self.journal = None
                sink.event(self.name, Finding("guard.journal_unavailable", Severity.WARNING, "journal",
                                              f"[guard] journal = true but journalctl cannot be run: {err}",
                                              "Install systemd's journalctl or set [guard] journal = false."))
        active = self.bans.active(self.clock())
        self.report_problems(sink)
        for addr, info in active.items():
            why = protected.why(addr)
            if why is not None:   # a ban persisted before the address was known to be needed: lift it
                self.bans.remove(addr)
                sink.event(self.name, refused(Ban(addr, 0, int(info.get("offense", 1)), "a persisted ban"), why))
                continue
            self.policy.restore(addr, info["until"], int(info.get("offense", 1)))
        if not self.g.ban:
            return
        try:
            nft.apply(nft.plan_setup(self.g.table, self.g.set_size), self.g.nft)
            cmds = [c for addr, info in self.bans.active(self.clock()).items()
                    for c in nft.plan_ban(self.g.table, addr, int(info["until"] - self.clock()), "yamori: restored")]
            if cmds:
                nft.apply(cmds, self.g.nft)
            self.nft_ok = True
        except (nft.NftError, ValueError) as err:
            sink.event(self.name, Finding("guard.nft_unavailable", Severity.CRITICAL, "nftables",
                                          f"bans are switched on but cannot be applied: {err}",
                                          "Run the agent as root or with CAP_NET_ADMIN, with nftables installed; "
                                          "the guard keeps reporting meanwhile."))

    def report_problems(self, sink: Sink) -> None:
        """State files kept aside, paths skipped: each said once, with its reason."""
        for problem in self.bans.problems + self.tailer.problems:
            sink.event(self.name, Finding("guard.state_problem", Severity.WARNING, "guard", problem,
                                          "Look at the file named; the guard goes on without it."))
        self.bans.problems.clear()
        self.tailer.problems.clear()

    # -- one poll ----------------------------------------------------------------------------
    def poll_once(self, sink: Sink) -> list[AuthEvent]:
        events: list[AuthEvent] = []
        for chunk in self.tailer.poll():
            reader = self._reader(chunk.key, chunk.path, chunk.data, chunk.start, chunk.new)
            try:
                got = reader.feed(chunk.data, final=not chunk.more)
            except LogFormatError as err:
                sink.event(self.name, Finding("guard.log_unreadable", Severity.WARNING, chunk.path,
                                              str(ParseProblem(chunk.path, err.line, err.reason, err.first.field)),
                                              file=chunk.path, line=err.line))
                continue
            events += [ev for ev in got if not self.formats.seen_before(chunk.path, reader.fmt, ev)]
        self.tailer.save()
        if self.journal is not None:
            events += self.journal.poll()
            self.tailer.problems += self.journal.problems
            self.journal.problems = []
        for ev in events:
            self.handle(ev, sink)
        if self.tailer.problems or self.bans.problems:
            self.report_problems(sink)
        return events

    def _reader(self, key: str, path: str, data: bytes, start: int, new: bool) -> LogReader:
        reader = self.readers.get(key)
        if reader is not None and not new:
            reader.file = path
            return reader
        fmt = self.g.log_format if self.g.log_format != "auto" else detect_format(path, data[:65536])
        try:
            reader = LogReader(fmt, self.prefix, tuple(self.g.languages), file=path, log_timezone=self.log_timezone,
                               locale_dir=self.locale_dir, syslog_ident=self.g.syslog_ident)
        except PrefixError:
            reader = LogReader(fmt, None, tuple(self.g.languages), file=path, locale_dir=self.locale_dir,
                               syslog_ident=self.g.syslog_ident)
        if start > 0 and fmt == "stderr":
            try:
                with open(path, "rb") as f:
                    f.seek(max(0, start - PRIME))
                    reader.prime(f.read(min(start, PRIME)), start)
            except OSError:
                pass
        self.readers[key] = reader
        if len(self.readers) > 256:   # rotated-away files
            self.readers.pop(next(iter(self.readers)))
        return reader

    def handle(self, ev: AuthEvent, sink: Sink) -> None:
        now = self.clock()
        at = event_epoch(ev)
        if at is not None and now - at > self.g.backlog:
            return      # older than the backlog read on first start
        self.counts[ev.kind] += 1
        if not ev.trusted:
            self.counts["_untrusted"] += 1
        if self.on_event:
            self.on_event(ev)
        new_before = len(self.policy.known)
        decision = self.policy.observe(ev)
        self.digest.add(ev, new_source=len(self.policy.known) > new_before)
        for finding in decision.findings:
            sink.event(self.name, finding)
        if decision.ban:
            self._ban(decision.ban, sink)

    def _ban(self, ban: Ban, sink: Sink) -> None:
        # verified right before acting, whatever the policy decided
        protected = self.policy.protected or self.protect(sink)
        why = protected.why(ban.address)
        if why is not None:
            sink.event(self.name, refused(ban, why))
            return
        self.counts["_bans"] += 1
        if not self.g.ban:
            sink.event(self.name, Finding("guard.would_ban", Severity.INFO, ban.address,
                                          f"would ban {ban.address} for {ban.seconds}s ({ban.comment}); "
                                          "banning is off ([guard] ban = false)"))
            return
        until = self.clock() + ban.seconds
        self.bans.add(ban.address, until, ban.offense)
        if not self.nft_ok:
            return
        try:
            nft.apply(nft.plan_ban(self.g.table, ban.address, ban.seconds, ban.comment), self.g.nft)
        except (nft.NftError, ValueError) as err:
            sink.event(self.name, Finding("guard.ban_failed", Severity.WARNING, ban.address,
                                          f"could not ban {ban.address}: {err}"))

    def samples(self) -> list[Sample]:
        out = [Sample("guard_auth_failures_total", float(n), {"kind": k}) for k, n in self.counts.items()
               if not k.startswith("_")]
        out.append(Sample("guard_untrusted_total", float(self.counts["_untrusted"])))
        out.append(Sample("guard_bans_total", float(self.counts["_bans"])))
        return out

    def maybe_digest(self, sink: Sink) -> None:
        day = self._day()
        if day == self.digest_day:
            return
        sink.report(self.name, "guard.digest", self.digest_day, self.digest.compose(self.digest_day))
        self.digest, self.digest_day = Digest(), day

    async def run(self, sink: Sink) -> None:
        await asyncio.to_thread(self.start, sink)   # may ask the server, and runs nft: not on the loop
        watch = DirectoryWatch(self.g.logs)
        live = watch.start()
        try:
            await self._loop(sink, watch if live else None)
        finally:
            watch.close()
            if self.journal is not None:
                self.journal.stop()

    async def _loop(self, sink: Sink, watch: DirectoryWatch | None) -> None:
        # with inotify on every log directory, re-check only now and then as a safety net
        recheck = (RECHECK_WITH_INOTIFY if watch is not None and watch.complete and self.journal is None
                   else self.g.poll_interval)
        last_samples = 0.0
        while True:
            try:
                # the stat()s run on the loop; reading and parsing only when a file moved
                if self.tailer.changed() or self.journal is not None:
                    await asyncio.to_thread(self.poll_once, sink)
            except Exception as err:
                sink.event(self.name, Finding("guard.error", Severity.WARNING, "guard", f"guard poll failed: {err!r}"))
            if self.clock() - last_samples >= 60:
                sink.samples(self.name, self.samples())
                last_samples = self.clock()
            self.maybe_digest(sink)
            if self.tailer.behind:
                await asyncio.sleep(0)
            elif watch is not None:
                await watch.wait(recheck)
            else:
                await asyncio.sleep(recheck)


async def run_foreground(make: Callable[[], GuardService], sink: Sink,
                         reload: Callable[[], Settings] | None = None) -> int:
    """`yamori guard watch`: the guard alone, stopped like `yamori run`. SIGTERM or SIGINT: the
    positions are saved (bans are saved as they are made) and 0 returned. SIGHUP: the config is
    read again (`reload`) and the guard restarted with it, resuming from the saved positions; a
    config that does not load is reported and the running guard kept."""
    import signal

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    hup = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGHUP, hup.set)
    service = make()
    try:
        while True:
            task = asyncio.create_task(service.run(sink))
            stopping = asyncio.create_task(stop.wait())
            hupping = asyncio.create_task(hup.wait())
            done, _ = await asyncio.wait({task, stopping, hupping}, return_when=asyncio.FIRST_COMPLETED)
            for t in (task, stopping, hupping):
                if t not in done:
                    t.cancel()
            await asyncio.gather(task, stopping, hupping, return_exceptions=True)
            service.tailer.save()
            if task in done and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
            if stop.is_set() or task in done:
                return 0
            hup.clear()
            if reload is not None:
                try:
                    settings = await asyncio.to_thread(reload)
                except (Exception, SystemExit) as err:   # a broken config: say so, keep running
                    sink.event("guard", Finding("guard.reload_failed", Severity.WARNING, "config",
                                                f"config not reloaded: {err}", "Fix the config and send SIGHUP again."))
                    continue
                old = service
                service = make_with(old, settings)
            sink.event("guard", Finding("guard.reloaded", Severity.INFO, "config", "config re-read (SIGHUP)"))
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.remove_signal_handler(sig)


def make_with(old: GuardService, settings: Settings) -> GuardService:
    """A guard on new settings that goes on where `old` stopped (positions on disk, same hooks)."""
    return GuardService(settings, clock=old.clock, on_event=old.on_event, root=old.root)


class PrintSink:
    """`yamori guard watch`: findings to stderr (events are printed by on_event)."""

    def __init__(self, as_json: bool) -> None:
        self.as_json = as_json

    def samples(self, service: str, samples: list[Sample]) -> None:
        pass

    def event(self, service: str, finding: Finding) -> None:
        if self.as_json:
            print(json.dumps({"finding": finding.as_json()}, ensure_ascii=False), file=sys.stderr, flush=True)
        else:
            print(f"[{finding.severity}] {finding.check} {finding.subject}: {finding.message}", file=sys.stderr,
                  flush=True)

    def state(self, service: str, findings: list[Finding]) -> None:
        pass

    def report(self, service: str, check: str, subject: str, text: str) -> None:
        print(text, file=sys.stderr, flush=True)


def print_event(as_json: bool) -> Callable[[AuthEvent], None]:
    def show(ev: AuthEvent) -> None:
        data: dict[str, Any] = ev.as_json()
        if as_json:
            print(json.dumps(data, ensure_ascii=False), flush=True)
        else:
            flag = "" if ev.trusted else "  [UNTRUSTED]"
            user, db = json.dumps(ev.user, ensure_ascii=False), json.dumps(ev.database, ensure_ascii=False)
            print(f"{ev.time or '-'} {ev.source or '-':<15} {ev.kind:<22} user={user} db={db}{flag}", flush=True)
    return show
