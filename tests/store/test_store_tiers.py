"""Pure tier logic: which resolutions exist, which one answers a query, how rows merge."""

from __future__ import annotations

import pytest

from yamori.config.store import StoreSettings
from yamori.store.tiers import MAX_POINTS, TierError, align, choose, plan_tiers, rebucket

DAY = 86400.0
NOW = 1_700_000_000.0


def test_default_retention_gives_raw_then_5m_1h_1d() -> None:
    tiers = plan_tiers(StoreSettings().retention)
    assert [(t.name, t.resolution, t.table) for t in tiers] == [
        ("raw", 0, "raw"), ("5m", 300, "rollup_300"), ("1h", 3600, "rollup_3600"), ("1d", 86400, "rollup_86400")]
    assert tiers[0].retention == 2 * DAY


def test_1m_is_supported_and_order_of_keys_does_not_matter() -> None:
    tiers = plan_tiers({"1h": 90 * DAY, "raw": DAY, "1m": 7 * DAY, "5m": 14 * DAY})
    assert [t.resolution for t in tiers] == [0, 60, 300, 3600]


@pytest.mark.parametrize(("retention", "key", "words"), [
    ({"raw": DAY, "7m": DAY, "1h": DAY}, "store.retention.1h", "multiple of 7m"),
    ({"raw": 60.0, "5m": DAY}, "store.retention.raw", "at least 5m"),
    ({"raw": DAY, "fortnight": DAY}, "store.retention.fortnight", "expected raw or a resolution"),
    ({"raw": DAY, "0.5s": DAY}, "store.retention.0.5s", "whole number of seconds"),
    ({"raw": DAY, "60s": DAY, "1m": DAY}, "store.retention.1m", "same resolution"),
])
def test_impossible_retention_names_the_key(retention: dict[str, float], key: str, words: str) -> None:
    with pytest.raises(TierError) as err:
        plan_tiers(retention)
    assert err.value.key == key
    assert words in str(err.value)


TIERS = plan_tiers(StoreSettings().retention)


def test_short_range_reads_raw_points_as_stored() -> None:
    tier, step = choose(TIERS, NOW, NOW - 3600, NOW, None, raw_points=60)
    assert (tier.name, step) == ("raw", 0.0)


def test_too_many_raw_points_moves_to_the_finest_rollup() -> None:
    tier, step = choose(TIERS, NOW, NOW - DAY, NOW, None, raw_points=5760)
    assert (tier.name, step) == ("5m", 300.0)


def test_range_older_than_raw_retention_skips_raw_even_if_few_points() -> None:
    tier, _ = choose(TIERS, NOW, NOW - 3 * DAY, NOW, None, raw_points=10)
    assert tier.name == "5m"


def test_a_year_reads_daily_rollups() -> None:
    tier, step = choose(TIERS, NOW, NOW - 365 * DAY, NOW, None)
    assert (tier.name, step) == ("1d", DAY)


def test_a_month_reads_hourly_rollups() -> None:
    tier, step = choose(TIERS, NOW, NOW - 30 * DAY, NOW, None)
    assert (tier.name, step) == ("1h", 3600.0)


def test_beyond_every_retention_uses_the_longest_and_stays_under_max_points() -> None:
    tier, step = choose(TIERS, NOW, NOW - 20 * 365 * DAY, NOW, None)
    assert tier.name == "1d"
    assert step % DAY == 0 and 20 * 365 * DAY / step <= MAX_POINTS


def test_explicit_step_reads_the_coarsest_dividing_tier() -> None:
    assert choose(TIERS, NOW, NOW - DAY, NOW, 7200)[0].name == "1h"
    assert choose(TIERS, NOW, NOW - DAY, NOW, 600)[0].name == "5m"
    assert choose(TIERS, NOW, NOW - DAY, NOW, 90)[0].name == "raw"
    assert choose(TIERS, NOW, NOW - DAY, NOW, 86400 * 7)[0].name == "1d"
    with pytest.raises(ValueError):
        choose(TIERS, NOW, NOW - DAY, NOW, 0)


def test_rebucket_merges_rows_and_keeps_the_latest_last_whatever_the_order() -> None:
    rows = [
        (120.0, 5.0, 9.0, 14.0, 2, 9.0, 170.0),
        (0.0, 1.0, 3.0, 4.0, 2, 3.0, 50.0),
        (60.0, -2.0, 0.0, -2.0, 2, -2.0, 110.0),
        (300.0, 7.0, 7.0, 7.0, 1, 7.0, 300.0),
    ]
    points = rebucket(rows, 300)
    assert [(p.time, p.min, p.max, p.avg, p.last, p.count) for p in points] == [
        (0.0, -2.0, 9.0, 16.0 / 6, 9.0, 6), (300.0, 7.0, 7.0, 7.0, 7.0, 1)]


def test_align_starts_on_a_bucket_boundary() -> None:
    assert align(1000.0, 300) == 900.0
    assert align(1000.0, 0) == 1000.0
