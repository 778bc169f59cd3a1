"""The verdict over rounds of one path: which segment is at fault and what kind of fault. Pure.

Read the path as a network engineer does, from this host outward:
- **unreachable**: from some hop on, nothing answers (latest round): one finding naming that
  hop; everything behind it is folded into it.
- **loss**: the first hop where echo loss begins that the previous answering hop does not show,
  confirmed by a later point losing too (a hop that alone drops echo is rate-limiting ICMP to
  itself, not losing traffic). A few percent counts.
- **latency**: the first hop that adds more than the path's `latency_warning`, kept by the
  hops after it.
- **nat_exhaustion**: new TCP connections through a hop fail or stall while ICMP through it and an
  already open connection keep working and this host's own conntrack table is far from full.
- **divergence**: ICMP passes while TCP/HTTP fails or is flaky; a connect to each hop's own
  address on the target's port (refused counts as passing) shows how far TCP gets.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from ...records import Finding, Severity, State, worst_state
from .model import OK, REFUSED, RESET, TIMEOUT, Icmp, Round, TargetResult, Tcp
from .plan import Hop, PathPlan

LOSS_WARNING_PERCENT = 1.0    # with at least one echo lost: intermittent faults hide for weeks
LOSS_CRITICAL_PERCENT = 10.0
CONNTRACK_FAR_FROM_FULL = 50.0
NAT_ROLES = ("router", "nat", "firewall", "gateway", "modem")

VERDICT_KINDS = ("loss", "unreachable", "divergence", "latency", "nat_exhaustion")  # the JSON contract's kinds
KIND_ORDER = ("unreachable", "loss", "nat_exhaustion", "divergence", "latency", "http", "tls_expiry", "dns")


@dataclass(frozen=True, slots=True)
class Verdict:
    state: State
    first_bad_hop: str | None
    kind: str | None
    message: str
    advice: str
    findings: tuple[Finding, ...]

    def as_json(self) -> dict[str, object]:
        return {"state": self.state.label, "first_bad_hop": self.first_bad_hop, "kind": self.kind,
                "message": self.message, "advice": self.advice}


@dataclass(frozen=True, slots=True)
class _Fault:
    kind: str
    hop: str | None
    finding: Finding


@dataclass(frozen=True, slots=True)
class _Point:
    """A place along the path that answers echo: a hop, or a target's host at the end."""

    name: str
    hop: Hop | None
    icmp: Icmp        # merged over the rounds
    latest: Icmp


def _lossy(icmp: Icmp) -> bool:
    return icmp.sent > icmp.received and icmp.loss_percent >= LOSS_WARNING_PERCENT


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def judge(plan: PathPlan, rounds: Sequence[Round], here: str = "this host") -> Verdict:
    """Rounds (oldest first) of one path -> its verdict. Loss and latency are judged over all the
    rounds given; reachability and TCP over the latest one."""
    if not rounds:
        return Verdict(State.UNKNOWN, None, None, f"{plan.name}: not measured yet", "", ())
    latest = rounds[-1]
    name = plan.name
    # rounds in which the path was cut are the unreachable alert's business: counted as loss they
    # would raise a loss alert for minutes after the link came back
    whole = [r for r in rounds[:-1] if _cut(r) is None] + [latest]
    hop_points = [_Point(h.hop.name, h.hop, Icmp.merge([r.hops[i].icmp for r in whole if i < len(r.hops)]),
                         h.icmp) for i, h in enumerate(latest.hops)]
    faults: list[_Fault] = []
    notes: list[Finding] = []

    icmp_errors = [p.latest.error for p in hop_points if p.latest.error] + \
                  [t.icmp.error for t in latest.targets if t.icmp is not None and t.icmp.error]
    if icmp_errors and any(e.startswith("not allowed") for e in icmp_errors):
        return Verdict(State.UNKNOWN, None, None, f"{name}: cannot send echo requests: {icmp_errors[0]}",
                       "Run the agent with CAP_NET_RAW (AmbientCapabilities=CAP_NET_RAW in its systemd unit) or "
                       "widen net.ipv4.ping_group_range to include its group.", ())

    # -- unreachable: from hop i on, nothing answers ------------------------------------------
    cut = _cut(latest)
    if cut is not None:
        hop = latest.hops[cut].hop
        before = _previous_name(hop_points, cut, here)
        behind = [h.hop.name for h in latest.hops[cut + 1:]] + [t.target.url for t in latest.targets]
        folded = f"; behind it and folded into this alert: {', '.join(behind)}" if behind else ""
        faults.append(_Fault("unreachable", hop.name, Finding(
            "net.unreachable", Severity.CRITICAL, f"{name}: {before} → {hop.name}",
            f"{hop.name} ({hop.address}) does not answer (echo and TCP) while {before} does: the path is cut "
            f"between {before} and {hop.name}{folded}",
            f"Look at {hop.name} itself (powered, up?) and at the link {before} → {hop.name}: cable, port lights, "
            f"`ip link` on both ends. Alerts for everything behind {hop.name} are held back until it answers.")))
        hop_points = hop_points[:cut]
    # -- loss / latency along the hops and the targets' hosts --------------------------------
    target_points = [_Point(t.target.host, None, Icmp.merge(_target_icmps(whole, i)), t.icmp)
                     for i, t in enumerate(latest.targets) if t.icmp is not None and cut is None]
    loss = _loss(name, hop_points, target_points, here, notes) if not faults else None
    if loss is not None:
        faults.append(loss)
    if not faults:
        latency = _latency(plan, hop_points, target_points, here)
        if latency is not None:
            faults.append(latency)
    # -- hop services and targets ---------------------------------------------------------
    if cut is None:
        for point, hop_result in zip(hop_points, latest.hops, strict=False):
            for service in hop_result.tcp:
                if service.failed and point.latest.answered and loss is None:
                    faults.append(_service_divergence(name, hop_result.hop, service))
        for target in latest.targets:
            faults.extend(_target_faults(plan, latest, target, folded_by_loss=loss is not None))
    faults.sort(key=lambda f: (-f.finding.severity.rank, KIND_ORDER.index(f.kind)))
    faults = _one_per_subject(faults)
    findings = tuple(f.finding for f in faults) + tuple(notes)
    if not faults:
        answered = sum(1 for p in hop_points if p.icmp.answered)
        return Verdict(State.OK, None, None,
                       f"{name}: {answered} of {len(plan.hops)} hops answer without loss and every target works",
                       "", findings)
    primary = faults[0]
    state = worst_state([State.from_severity(f.finding.severity) for f in faults])
    kind = primary.kind if primary.kind in VERDICT_KINDS else None
    return Verdict(state, primary.hop, kind, primary.finding.message, primary.finding.advice, findings)


def _one_per_subject(faults: list[_Fault]) -> list[_Fault]:
    """Two targets blocked at the same place (http:// and tcp:// to one port) are one finding."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for fault in faults:
        key = (fault.finding.check, fault.finding.subject)
        if key not in seen:
            seen.add(key)
            kept.append(fault)
    return kept


def _target_icmps(rounds: Sequence[Round], index: int) -> list[Icmp]:
    found = []
    for measured in rounds:
        if index < len(measured.targets):
            icmp = measured.targets[index].icmp
            if icmp is not None:
                found.append(icmp)
    return found


def _cut(latest: Round) -> int | None:
    """The first hop from which nothing answers any more (echo nor TCP), when some earlier point or
    this host's first hop is where it starts."""
    def silent_hop(i: int) -> bool:
        h = latest.hops[i]
        return not h.icmp.answered and not any(t.passes for t in (*h.tcp, *h.trace))

    def silent_target(t: TargetResult) -> bool:
        return (t.icmp is None or not t.icmp.answered) and t.tcp.passes == 0 and t.held is not True

    hops = latest.hops
    for i in range(len(hops)):
        if all(silent_hop(j) for j in range(i, len(hops))) and all(silent_target(t) for t in latest.targets):
            return i
    return None


def _previous_name(points: Sequence[_Point], index: int, here: str) -> str:
    for point in reversed(points[:index]):
        if point.icmp.answered:
            return point.name
    return here


def _loss(path: str, hops: list[_Point], targets: list[_Point], here: str, notes: list[Finding]) -> _Fault | None:
    points = hops + targets
    previous = here
    for i, point in enumerate(points):
        if not point.icmp.answered:
            if point.hop is not None and any(p.icmp.answered for p in points[i + 1:]):
                notes.append(Finding("net.loss", Severity.INFO, f"{path}: {point.name}",
                                     f"{point.name} does not answer echo requests but the hops after it do: "
                                     "it filters ICMP to itself (not a fault)"))
            continue
        if not _lossy(point.icmp):
            previous = point.name
            continue
        later = points[i + 1:]
        if later and not any(_lossy(p.icmp) for p in later if p.icmp.answered):
            notes.append(Finding("net.loss", Severity.INFO, f"{path}: {point.name}",
                                 f"{point.name} drops {point.icmp.loss_percent:.0f}% of echo requests to itself but "
                                 "the hops after it lose none: it rate-limits ICMP (not a fault)"))
            continue
        icmp = point.icmp
        severity = Severity.CRITICAL if icmp.loss_percent >= LOSS_CRITICAL_PERCENT else Severity.WARNING
        subject = point.name if point.hop is not None else f"{point.name} (target)"
        return _Fault("loss", point.hop.name if point.hop else None, Finding(
            "net.loss", severity, f"{path}: {previous} → {subject}",
            f"{icmp.loss_percent:.0f}% of echo requests lost from {point.name} on ({icmp.received} of {icmp.sent} "
            f"answered) while {previous} loses none: the fault is on the segment {previous} → {point.name}",
            f"Check both ends of {previous} → {point.name}: port error counters (`ip -s link`, the switch's port "
            "statistics: CRC errors, drops, duplex mismatch), swap the cable or the switch port. A few percent of loss "
            "is what makes HTTP fail on and off while a quick ping looks fine."))
    return None


def _latency(plan: PathPlan, hops: list[_Point], targets: list[_Point], here: str) -> _Fault | None:
    threshold = plan.settings.latency_warning * 1000.0
    answered = [p for p in hops + targets if p.icmp.answered and p.icmp.median_ms is not None]
    base, previous = 0.0, here
    for i, point in enumerate(answered):
        median = point.icmp.median_ms or 0.0
        added = median - base
        later = answered[i + 1:]
        if added >= threshold and all((p.icmp.median_ms or 0.0) - base >= threshold for p in later):
            return _Fault("latency", point.hop.name if point.hop else None, Finding(
                "net.latency", Severity.WARNING, f"{plan.name}: {previous} → {point.name}",
                f"round-trip time jumps by {_ms(added)} between {previous} and {point.name} "
                f"(median {_ms(base)} → {_ms(median)}), and stays up behind it",
                f"Look at what queues on {previous} → {point.name}: a saturated uplink (compare its traffic with its "
                "capacity), bufferbloat on the router, a half-duplex port."))
        base, previous = median, point.name
    return None


def _service_divergence(path: str, hop: Hop, service: Tcp) -> _Fault:
    severity = Severity.CRITICAL if service.succeeded == 0 else Severity.WARNING
    if service.error == REFUSED:
        what = f"TCP/{service.port} on {hop.name} is refused: the host is up and nothing listens there"
    else:
        what = f"TCP/{service.port} to {hop.name} fails ({service.failed} of {service.attempts}: {service.error})"
    return _Fault("divergence", hop.name, Finding(
        "net.divergence", severity, f"{path}: {hop.name} TCP/{service.port}",
        f"ping works but {what}: not a routing problem",
        f"Look at the service on {hop.name} (is it running, listening on {hop.address}:{service.port}?) and at "
        f"{hop.name}'s own firewall."))


def _reach(latest: Round, port: int) -> tuple[int | None, int | None]:
    """(index of the last hop that TCP to `port` fully reaches, index of the first it does not)."""
    last_pass: int | None = None
    for i, hop in enumerate(latest.hops):
        trace = next((t for t in hop.trace if t.port == port), None)
        if trace is None or trace.attempts == 0:
            continue
        if trace.passes < trace.attempts:
            return last_pass, i
        last_pass = i
    return last_pass, None


def _target_faults(plan: PathPlan, latest: Round, target: TargetResult, folded_by_loss: bool) -> list[_Fault]:
    path, t = plan.name, target.target
    faults: list[_Fault] = []
    tcp = target.tcp
    http = target.http
    icmp_ok = target.icmp is not None and target.icmp.answered
    if target.icmp is not None and (target.icmp.error or "").startswith("cannot resolve"):
        return [_Fault("dns", None, Finding(
            "net.dns", Severity.CRITICAL, f"{path}: {t.host}",
            f"{t.url}: this host cannot resolve {t.host}, so nothing on the path could be tried",
            "Check this host's resolvers (/etc/resolv.conf, `resolvectl status`) and the name's records; "
            "[[network.dns]] checks a name at each resolver."))]
    if tcp.failed:
        if folded_by_loss:
            return faults  # explained by the loss found on the way
        if not icmp_ok and tcp.passes == 0:
            last = latest.hops[-1].hop.name if latest.hops else "this host"
            return [_Fault("unreachable", None, Finding(
                "net.unreachable", Severity.CRITICAL, f"{path}: {last} → {t.host}",
                f"{t.url} does not answer (echo nor TCP/{t.port}) while every hop before it does",
                f"Look at {t.host} itself (is it up?) and at its uplink; `yamori net diagnose {path}` "
                "shows each hop."))]
        last_pass, first_block = _reach(latest, t.port)
        severity = Severity.CRITICAL if tcp.succeeded == 0 else Severity.WARNING
        stalls = all(o in (TIMEOUT, RESET) for o in tcp.outcomes if o != OK)
        far_from_full = latest.conntrack_percent is None or latest.conntrack_percent < CONNTRACK_FAR_FROM_FULL
        hops = [h.hop for h in latest.hops]
        reached = hops[: last_pass + 1] if last_pass is not None else []
        if target.held is True and stalls and far_from_full:
            nat = next((h for h in reversed(reached) if h.role.lower() in NAT_ROLES), reached[-1] if reached else None)
            where = nat.name if nat else "the router in front of it"
            own = ("not loaded here" if latest.conntrack_percent is None
                   else f"{latest.conntrack_percent:.0f}% full here")
            faults.append(_Fault("nat_exhaustion", nat.name if nat else None, Finding(
                "net.nat_exhaustion", severity, f"{path}: {where}",
                f"new TCP connections to {t.url} through {where} fail ({tcp.failed} of {tcp.attempts}: {tcp.error}) "
                f"while echo passes and an already open connection keeps working: {where}'s NAT session table is "
                f"most likely full (this host's own conntrack table is {own})",
                f"On {where}: look at its NAT/session table use and limit (conntrack count vs max, 'session table "
                "full' in its log), who holds the sessions (a client opening many connections, a scan), and raise "
                "the limit or shorten the idle timeouts of its sessions.")))
            return faults
        if icmp_ok or (latest.hops and latest.hops[-1].icmp.answered):
            filt = hops[last_pass] if last_pass is not None else None
            beyond = hops[first_block].name if first_block is not None else t.host
            kind_text = "HTTP" if t.is_http else f"TCP/{t.port}"
            if tcp.error == REFUSED and first_block is None:
                problem = (f"TCP/{t.port} to {t.host} is refused: the host is up and nothing listens on {t.port}, "
                           "or a firewall rejects it")
                look = f"the service on {t.host} (running? listening on port {t.port}?) and its firewall"
            elif filt is not None:
                problem = (f"TCP/{t.port} gets as far as {filt.name} and no further ({beyond} does not take it; "
                           f"{tcp.failed} of {tcp.attempts} connects to {t.host} failed: {tcp.error})")
                look = (f"the filtering on {filt.name} (its forwarding firewall rules, ACLs, port forwarding) and the "
                        f"segment {filt.name} → {beyond}")
            else:
                problem = f"{tcp.failed} of {tcp.attempts} TCP connects to {t.host}:{t.port} failed ({tcp.error})"
                look = f"the firewall in front of {t.host} and on it, and whether the service accepts connections"
            if tcp.succeeded and target.held is None:
                look += "; a NAT session table near its limit also makes new connects fail on and off"
            subject = f"{path}: {filt.name} → {beyond}" if filt is not None else f"{path}: {t.url}"
            faults.append(_Fault("divergence", filt.name if filt else None, Finding(
                "net.divergence", severity, subject,
                f"ping works but {kind_text} fails: not a routing problem; {problem}",
                f"Look at {look}.")))
            return faults
        return faults
    if http is not None and not http.ok and not folded_by_loss:
        severity = Severity.CRITICAL if http.succeeded == 0 else Severity.WARNING
        stalled = http.error == "timeout"
        if stalled:
            look = ("TCP connects but requests stall: look at the server's load, and at MTU/MSS on the path (small "
                    "packets pass, full-size ones are lost: clamp the MSS on the PPPoE router)")
        else:
            look = "TCP connects fine, so the network carries it: look at the web server and the application"
        faults.append(_Fault("http", None, Finding(
            "net.http", severity, f"{path}: {t.url}",
            f"{t.url}: {http.attempts - http.succeeded} of {http.attempts} requests failed ({http.error})",
            look + ".")))
    if http is not None and http.tls is not None:
        faults.extend(_tls_faults(plan, t.url, http))
    return faults


def _tls_faults(plan: PathPlan, url: str, http: object) -> list[_Fault]:
    from .model import Http

    assert isinstance(http, Http) and http.tls is not None
    tls = http.tls
    faults: list[_Fault] = []
    if tls.chain_valid is False or tls.name_match is False:
        what = "does not match the name" if tls.chain_valid else "does not verify"
        faults.append(_Fault("http", None, Finding(
            "net.http", Severity.CRITICAL, f"{plan.name}: {url} certificate",
            f"{url}: the certificate {what}: {tls.error}",
            "Install the full chain (leaf + intermediates) for the name clients use; check the renewal job.")))
    if tls.days_left is not None:
        days = tls.days_left
        severity = (Severity.CRITICAL if days < plan.settings.tls_critical_days
                    else Severity.WARNING if days < plan.settings.tls_warning_days else None)
        if severity is not None:
            when = f"expired {-days:.0f} days ago" if days < 0 else f"expires in {days:.0f} days"
            faults.append(_Fault("tls_expiry", None, Finding(
                "net.tls_expiry", severity, f"{plan.name}: {url}", f"{url}: the certificate {when}",
                "Renew it (certbot renew / your ACME client) and check why automatic renewal did not run: "
                "its timer, its log, port 80 reachable for the HTTP challenge.")))
    return faults


def median_or_none(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None
