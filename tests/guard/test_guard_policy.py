"""The policy: incident 1's private source, operator networks, internet bans, repeat offenders."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from yamori.config.guard import GuardSettings
from yamori.config.inventory import InventorySettings
from yamori.guard.digest import Digest
from yamori.guard.policy import Policy
from yamori.inventory import Inventory
from yamori.postgres.log.read import scan_file
from yamori.records import AuthEvent, Severity

NOW = 1_795_600_800.0


def inventory() -> Inventory:
    return Inventory(InventorySettings.model_validate({
        "networks": [{"name": "office", "cidr": "192.168.10.0/24", "role": "admin"},
                     {"name": "dc-monitoring", "cidr": "172.22.183.0/24", "role": "monitoring"}],
        "allowlist": ["198.51.100.99"]}))


def policy(clock: list[float], **kw: object) -> Policy:
    settings = GuardSettings.model_validate({"max_failures": 3, "window": "10m", "ban_time": "1h", **kw})
    return Policy(settings, inventory(), clock=lambda: clock[0])


def ev(source: str | None, trusted: bool = True) -> AuthEvent:
    return AuthEvent(time=None, source=source, user="postgres", database="postgres", kind="no_hba_entry",
                     trusted=trusted, file="x.log", line=3)


def test_incident_1_private_source_is_critical_at_once(incidents: Path) -> None:
    (event,) = scan_file(str(incidents / "pg-auth-failure-from-lan.log")).events
    decision = policy([NOW]).observe(event)
    (finding,) = decision.findings
    assert finding.check == "guard.private_source" and finding.severity is Severity.CRITICAL
    assert "172.22.182.49" in finding.message and "172.16/12" in finding.message
    assert "no_hba_entry as user 'postgres' on database 'postgres'" in finding.message
    assert decision.ban is None     # one failure: alerted, not yet banned


def test_internet_source_banned_after_n_failures_longer_when_repeating() -> None:
    clock = [NOW]
    p = policy(clock)
    assert [p.observe(ev("203.0.113.5")).ban for _ in range(2)] == [None, None]
    first = p.observe(ev("203.0.113.5")).ban
    assert first is not None and first.seconds == 3600 and first.offense == 1
    assert p.observe(ev("203.0.113.5")).ban is None          # already banned
    clock[0] += 3601
    bans = [p.observe(ev("203.0.113.5")).ban for _ in range(3)]
    assert bans[-1] is not None and bans[-1].seconds == 7200 and bans[-1].offense == 2


def test_failures_outside_the_window_do_not_add_up() -> None:
    clock = [NOW]
    p = policy(clock)
    for _ in range(5):
        assert p.observe(ev("203.0.113.6")).ban is None
        clock[0] += 400     # 10-minute window, 3 failures needed: never 3 within it


def test_operator_allowlist_loopback_and_untrusted_never_banned() -> None:
    p = policy([NOW])
    for source in ("192.168.10.7", "198.51.100.99", "127.0.0.1", "::1"):
        assert all(p.observe(ev(source)).ban is None for _ in range(10))
    office = policy([NOW])
    warnings = [f for _ in range(3) for f in office.observe(ev("192.168.10.8")).findings]
    assert [f.check for f in warnings] == ["guard.new_operator_source"]   # once: only the first is new
    assert "office" in warnings[0].message and "admin" in warnings[0].message
    forged = policy([NOW])
    subjects = set()
    for line in range(10):
        d = forged.observe(replace(ev("203.0.113.7", trusted=False), line=100 + line))
        assert d.ban is None and [f.check for f in d.findings] == ["guard.log_injection"]
        subjects.add(d.findings[0].subject)
    assert subjects == {"x.log"}, "one alert subject per log file: a flood of forgeries is one mail, not ten"
    assert "x.log:109" in d.findings[0].message


def test_memory_is_bounded() -> None:
    p = Policy(GuardSettings(), inventory(), clock=lambda: NOW, max_sources=1000)
    for i in range(5000):
        p.observe(ev(f"203.0.{i // 256}.{i % 256}"))
    assert len(p.sources) == 1000


def test_digest_text_escapes_names() -> None:
    d = Digest()
    d.add(AuthEvent(time=None, source="203.0.113.5", user="bad\nname", database="db", kind="password_failed"))
    d.add(ev("192.168.10.8"), new_source=True)
    text = d.compose("2026-11-25")
    assert "bad\\nname (1)" in text and "192.168.10.8" in text and "2 (" in text.splitlines()[0]


def test_corrupt_bans_file_is_kept_aside_and_reported(tmp_path: Path) -> None:
    from yamori.guard.bans import BanStore

    (tmp_path / "guard-bans.json").write_text('["not", "an object"]')
    store = BanStore(tmp_path)
    assert store.active() == {}
    assert len(store.problems) == 1 and "kept aside as guard-bans.json.corrupt-" in store.problems[0]
    assert not (tmp_path / "guard-bans.json").exists()
    store.add("203.0.113.9", 2e9, 1)   # a new file is written beside the kept one
    assert set(store.active(1e9)) == {"203.0.113.9"}


def test_impossible_zone_offsets_do_not_raise() -> None:
    from yamori.postgres.log.prefix import iso_time
    from yamori.postgres.log.stderr import scan_stderr

    assert iso_time("2026-11-24 10:00:00.000 +99") == "2026-11-24T10:00:00.000"
    log = (b"2026-11-24 10:00:00.000 +99 [7] [unknown]@[unknown] LOG:  connection received: host=203.0.113.9 port=1\n"
           b'2026-11-24 10:00:00.000 +99 [7] u@d FATAL:  password authentication failed for user "u"\n')
    events, _ = scan_stderr(log, "%m [%p] %q%u@%d ")
    assert [(e.source, e.time) for e in events] == [("203.0.113.9", "2026-11-24T10:00:00.000")]


def test_a_rule_for_an_undeclared_private_network_is_incident_1_without_an_address() -> None:
    ev = AuthEvent(time=None, source=None, user="postgres", database="postgres", kind="password_failed",
                   source_network="192.168.0.0/24")
    policy = Policy(GuardSettings(), Inventory(InventorySettings()))
    decision = policy.observe(ev)
    assert [f.check for f in decision.findings] == ["guard.private_source"] and decision.ban is None
    assert decision.findings[0].severity is Severity.CRITICAL and "192.168.0.0/24" in decision.findings[0].message
    declared = Policy(GuardSettings(), Inventory(InventorySettings.model_validate(
        {"networks": [{"name": "office", "cidr": "192.168.0.0/16", "role": "office"}]})))
    assert declared.observe(ev).findings == []
