"""Intermittent faults summarised instead of flapping; one root-cause alert for a hop down."""

from __future__ import annotations

from yamori.alerts.dependency import Dependencies
from yamori.config import parse_config
from yamori.network.paths.history import Intermittency
from yamori.probe import ProbeResult
from yamori.records import Finding, Severity, State

LOSS = Finding("net.loss", Severity.WARNING, "internet: gw → pppoe", "5% lost")


def test_a_fault_that_comes_and_goes_is_summarised() -> None:
    history = Intermittency("internet")
    now = 1_000_000.0
    for episode in range(3):
        assert history.summary(now) is None
        history.record(now, LOSS)
        now += 60 * (episode + 1)
        history.record(now, None)
        now += 600
    summary = history.summary(now)
    assert summary is not None and summary.severity is Severity.WARNING
    assert summary.subject == "internet: intermittent" and summary.check == "net.loss"
    assert "3 episodes" in summary.message and "longest 3 min" in summary.message
    assert "net.loss internet: gw → pppoe" in summary.message


def test_old_episodes_leave_the_window() -> None:
    history = Intermittency("internet", window=3600)
    for start in (0.0, 100.0, 200.0):
        history.record(start, LOSS)
        history.record(start + 30, None)
    assert history.intermittent()
    history.record(10_000.0, None)
    assert not history.intermittent()


CONFIG = """
[[inventory.hosts]]
name = "pppoe"
addresses = ["198.51.100.1"]
role = "router"
[[inventory.hosts]]
name = "gw"
addresses = ["192.0.2.1"]
role = "switch"
[[inventory.hosts]]
name = "db2"
addresses = ["203.0.113.20"]
role = "server"
[[network.paths]]
name = "internet"
hops = ["gw", "pppoe"]
targets = ["tcp://203.0.113.20:5432", "https://www.example.org/"]
[[postgres.servers]]
name = "db2"
dsn = "host=203.0.113.20 port=5432 user=yamori dbname=postgres"
[[postgres.servers]]
name = "db1"
dsn = "host=127.0.0.1 port=5432 user=yamori dbname=postgres"
"""


def result(name: str, *findings: Finding) -> ProbeResult:
    worst = max((f.severity.rank for f in findings), default=0)
    return ProbeResult(name, State(worst), "x", [], list(findings))


def test_findings_behind_a_down_hop_fold_into_its_root_cause() -> None:
    deps = Dependencies.from_settings(parse_config(CONFIG))
    cut = Finding("net.unreachable", Severity.CRITICAL, "internet: gw → pppoe", "pppoe does not answer")
    assert deps.fold(result("net.internet", cut)).findings == [cut]   # the root cause itself goes through
    pg_down = Finding("pg.unreachable", Severity.CRITICAL, "db2", "cannot connect")
    folded = deps.fold(result("postgres.db2", pg_down))
    assert folded.findings[0].severity is Severity.INFO and "held back: pppoe" in folded.findings[0].message
    assert folded.state is State.OK
    # a server in front of the cut, and a finding about something else, still alert
    local = Finding("pg.unreachable", Severity.CRITICAL, "db1", "cannot connect")
    assert deps.fold(result("postgres.db1", local)).findings == [local]
    by_address = Finding("tcp.down", Severity.WARNING, "203.0.113.20:5432", "down")
    assert deps.fold(result("other", by_address)).findings[0].severity is Severity.INFO
    # the hop answers again: nothing is held back any more
    deps.fold(result("net.internet"))
    assert deps.fold(result("postgres.db2", pg_down)).findings == [pg_down]


def test_a_cut_further_out_does_not_hold_back_what_is_in_front() -> None:
    deps = Dependencies.from_settings(parse_config(CONFIG.replace('hops = ["gw", "pppoe"]',
                                                                  'hops = ["gw", "pppoe", "db2"]')))
    deps.fold(result("net.internet", Finding("net.unreachable", Severity.CRITICAL, "internet: pppoe → db2", "x")))
    pppoe = Finding("other.check", Severity.WARNING, "pppoe", "slow")
    assert deps.fold(result("other", pppoe)).findings == [pppoe]


def test_a_finding_behind_a_path_waits_for_the_path_round_that_follows_it() -> None:
    deps = Dependencies.from_settings(parse_config(CONFIG))
    deps.fold(ProbeResult("net.internet", State.OK, "ok", [], [], started=5.0))
    pg_down = Finding("pg.unreachable", Severity.CRITICAL, "db2", "cannot connect")
    early = deps.fold(ProbeResult("postgres.db2", State.CRITICAL, "x", [], [pg_down], started=10.0))
    assert early.state is State.OK and "held back until path internet" in early.findings[0].message
    deps.fold(ProbeResult("net.internet", State.OK, "ok", [], [], started=12.0))   # every hop answers
    late = deps.fold(ProbeResult("postgres.db2", State.CRITICAL, "x", [], [pg_down], started=14.0))
    assert late.findings == [pg_down] and late.state is State.CRITICAL


def test_every_sample_the_path_probe_emits_is_described() -> None:
    from yamori.network.metrics import METRICS
    from yamori.network.paths.model import HopResult, Http, Icmp, Round, TargetResult, Tcp, Tls
    from yamori.network.paths.plan import Hop, Target
    from yamori.network.paths.probe import round_samples
    from yamori.web.metrics import _help_texts

    target = Target("https://203.0.113.10/", "https", "203.0.113.10", 443)
    measured = Round("p", 0.0, (HopResult(Hop("gw", "192.0.2.1"), Icmp(3, 3, (1.0, 2.0, 3.0)),
                                          (Tcp(22, ("ok",), (0.5,)),)),),
                     (TargetResult(target, Icmp(3, 3, (4.0, 5.0, 6.0)), Tcp(443, ("ok",), (1.0,)),
                                   Http(1, 1, 200, (9.0,), tls=Tls(30.0, True, True))),))
    emitted = {s.metric for s in round_samples(measured)}
    assert emitted <= set(METRICS) and emitted <= set(_help_texts())
    assert {s.unit for s in round_samples(measured) if s.metric == "net_rtt_median_ms"} == {"ms"}
