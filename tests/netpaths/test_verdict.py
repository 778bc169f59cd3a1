"""The pure verdict: rounds of measurements -> kind, first bad hop, findings."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from yamori.config.network import PathEntry
from yamori.network.paths.model import OK, REFUSED, TIMEOUT, HopResult, Http, Icmp, Round, TargetResult, Tcp
from yamori.network.paths.plan import Hop, PathPlan, Target
from yamori.network.paths.verdict import judge
from yamori.records import State

HOPS = (Hop("gw", "192.0.2.1", "switch"), Hop("pppoe", "198.51.100.1", "router"),
        Hop("isp-ref", "203.0.113.1", "isp"))
TARGET = Target("http://203.0.113.10/", "http", "203.0.113.10", 80)
PLAN = PathPlan("internet", HOPS, (TARGET,), PathEntry(name="internet", hops=[h.name for h in HOPS],
                                                        targets=[TARGET.url]))


def echo(sent: int = 20, lost: int = 0, rtt: float = 1.0) -> Icmp:
    return Icmp(sent, sent - lost, tuple(rtt for _ in range(sent - lost)))


def tcp(*outcomes: str, port: int = 80) -> Tcp:
    return Tcp(port, outcomes, tuple(1.0 for o in outcomes if o == OK))


def make_round(losses: tuple[int, int, int] = (0, 0, 0), target_lost: int = 0, trace: tuple[str, str, str] = (
        REFUSED, REFUSED, REFUSED), connects: tuple[str, ...] = (OK,) * 5, held: bool | None = True,
        rtts: tuple[float, float, float] = (1, 2, 3), http_ok: bool = True, conntrack: float | None = 5.0) -> Round:
    hops = tuple(HopResult(h, echo(lost=loss, rtt=r), (), (tcp(t, t, t),))
                 for h, loss, t, r in zip(HOPS, losses, trace, rtts, strict=True))
    ok_count = sum(1 for c in connects if c == OK)
    http = Http(5, 5 if http_ok and ok_count == 5 else 0, 200 if http_ok else 500, (2.0,),
                None if http_ok else "HTTP 500")
    target = TargetResult(TARGET, echo(lost=target_lost, rtt=rtts[-1] + 1), tcp(*connects), http, held)
    return Round("internet", 0.0, hops, (target,), conntrack)


def test_healthy() -> None:
    verdict = judge(PLAN, [make_round()], "server")
    assert verdict.state is State.OK and verdict.kind is None and verdict.findings == ()


def test_loss_begins_at_the_first_hop_the_previous_does_not_show() -> None:
    verdict = judge(PLAN, [make_round(losses=(0, 6, 6), target_lost=6, connects=(OK, OK, TIMEOUT, OK, OK))])
    assert (verdict.kind, verdict.first_bad_hop, verdict.state) == ("loss", "pppoe", State.CRITICAL)
    assert [f.subject for f in verdict.findings] == ["internet: gw → pppoe"]   # target failures folded


def test_a_few_percent_counts_as_a_warning() -> None:
    rounds = [make_round(), make_round(losses=(0, 1, 1), target_lost=1)]   # 1 of 40 = 2.5 %
    verdict = judge(PLAN, rounds)
    assert (verdict.kind, verdict.first_bad_hop, verdict.state) == ("loss", "pppoe", State.WARNING)


def test_a_hop_that_alone_drops_echo_is_rate_limiting_not_losing() -> None:
    verdict = judge(PLAN, [make_round(losses=(0, 8, 0))])
    assert verdict.state is State.OK
    assert any("rate-limits ICMP" in f.message for f in verdict.findings)


def test_divergence_names_the_last_hop_tcp_reaches() -> None:
    verdict = judge(PLAN, [make_round(trace=(REFUSED, TIMEOUT, TIMEOUT), connects=(TIMEOUT,) * 5, held=None,
                                      http_ok=False)])
    assert (verdict.kind, verdict.first_bad_hop, verdict.state) == ("divergence", "gw", State.CRITICAL)
    assert verdict.message.startswith("ping works but HTTP fails: not a routing problem")


def test_nat_exhaustion_needs_a_working_held_connection_and_a_quiet_own_conntrack() -> None:
    base = dict(trace=(REFUSED, REFUSED, TIMEOUT), connects=(OK, TIMEOUT, TIMEOUT, OK, TIMEOUT), http_ok=False)
    nat = judge(PLAN, [make_round(held=True, **base)])  # type: ignore[arg-type]
    assert (nat.kind, nat.first_bad_hop, nat.state) == ("nat_exhaustion", "pppoe", State.WARNING)
    own_full = judge(PLAN, [make_round(held=True, conntrack=97.0, **base)])  # type: ignore[arg-type]
    assert own_full.kind == "divergence"
    unknown_held = judge(PLAN, [make_round(held=None, **base)])  # type: ignore[arg-type]
    assert unknown_held.kind == "divergence" and "NAT session table" in unknown_held.advice


def test_cut_is_one_finding_for_everything_behind() -> None:
    verdict = judge(PLAN, [make_round(losses=(0, 20, 20), target_lost=20, trace=(REFUSED, TIMEOUT, TIMEOUT),
                                      connects=(TIMEOUT,) * 5, held=None, http_ok=False)])
    assert (verdict.kind, verdict.first_bad_hop) == ("unreachable", "pppoe")
    assert len(verdict.findings) == 1 and verdict.findings[0].check == "net.unreachable"


def test_latency_jump_is_localised() -> None:
    verdict = judge(PLAN, [make_round(rtts=(1, 400, 402))])
    assert (verdict.kind, verdict.first_bad_hop, verdict.state) == ("latency", "pppoe", State.WARNING)


def test_http_error_with_working_tcp_is_not_a_network_fault() -> None:
    verdict = judge(PLAN, [make_round(http_ok=False)])
    assert verdict.kind is None and verdict.state is State.CRITICAL
    assert [f.check for f in verdict.findings] == ["net.http"]


@settings(max_examples=300, deadline=None)
@given(st.tuples(*(st.integers(0, 20) for _ in range(3))), st.integers(0, 20),
       st.lists(st.sampled_from([OK, TIMEOUT, REFUSED]), min_size=1, max_size=5),
       st.sampled_from([True, False, None]), st.booleans())
def test_any_round_gets_a_coherent_verdict(losses: tuple[int, int, int], target_lost: int, connects: list[str],
                                           held: bool | None, http_ok: bool) -> None:
    verdict = judge(PLAN, [make_round(losses=losses, target_lost=target_lost, connects=tuple(connects), held=held,
                                      http_ok=http_ok)])
    alerts = [f for f in verdict.findings if f.severity.rank > 0]
    assert (verdict.state is State.OK) == (not alerts)
    assert verdict.first_bad_hop in (None, "gw", "pppoe", "isp-ref")
    assert all(f.check.startswith("net.") and f.subject.startswith("internet") for f in verdict.findings)
    if verdict.kind == "loss" and verdict.first_bad_hop is not None:
        first = next(i for i, h in enumerate(HOPS) if h.name == verdict.first_bad_hop)
        # hops before it lose nothing (one that never answers filters ICMP to itself and is skipped)
        assert 0 < losses[first] < 20 and all(loss in (0, 20) for loss in losses[:first])
    if verdict.kind == "loss" and verdict.first_bad_hop is None:
        assert target_lost > 0 and all(loss in (0, 20) for loss in losses)   # the loss begins at the target
    if verdict.kind == "unreachable":
        assert len(alerts) == 1   # one root cause, never one per thing behind it
    if all(loss == 0 for loss in losses) and target_lost == 0:
        assert verdict.kind not in ("loss", "unreachable")


def test_rounds_while_the_path_was_cut_do_not_count_as_loss_afterwards() -> None:
    cut = make_round(losses=(0, 20, 20), target_lost=20, trace=(REFUSED, TIMEOUT, TIMEOUT),
                     connects=(TIMEOUT,) * 5, held=None, http_ok=False)
    assert judge(PLAN, [make_round(), cut, cut, make_round()]).state is State.OK
    # loss in rounds where the path was whole still counts
    assert judge(PLAN, [make_round(losses=(0, 4, 4), target_lost=4), cut, make_round()]).kind == "loss"


def test_a_hop_service_failing_while_the_hop_answers_echo_is_divergence() -> None:
    gw = Hop("gw", "192.0.2.1", "switch", (22,))
    plan = PathPlan("lan", (gw,), (), PathEntry(name="lan", hops=["gw"]))
    refused = Round("lan", 0.0, (HopResult(gw, echo(), (tcp(REFUSED, REFUSED, port=22),)),), ())
    verdict = judge(plan, [refused])
    assert (verdict.kind, verdict.first_bad_hop, verdict.state) == ("divergence", "gw", State.CRITICAL)
    assert "TCP/22 on gw is refused" in verdict.message
    flaky = Round("lan", 0.0, (HopResult(gw, echo(), (tcp(OK, TIMEOUT, OK, port=22),)),), ())
    assert judge(plan, [flaky]).state is State.WARNING
    assert judge(plan, [Round("lan", 0.0, (HopResult(gw, echo(), (tcp(OK, OK, port=22),)),), ())]).state is State.OK


def test_a_target_name_that_does_not_resolve_is_a_dns_finding() -> None:
    named = Target("https://shop.example.test/", "https", "shop.example.test", 443)
    plan = PathPlan("web", HOPS[:1], (named,), PathEntry(name="web", hops=["gw"], targets=[named.url]))
    measured = Round("web", 0.0, (HopResult(HOPS[0], echo()),),
                     (TargetResult(named, Icmp(20, 0, (), "cannot resolve shop.example.test"),
                                   tcp(*(["error"] * 5), port=443), Http(5, 0, error="cannot connect")),))
    verdict = judge(plan, [measured])
    assert verdict.state is State.CRITICAL and verdict.kind is None
    assert [(f.check, f.subject) for f in verdict.findings] == [("net.dns", "web: shop.example.test")]
