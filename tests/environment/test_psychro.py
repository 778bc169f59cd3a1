"""The psychrometric chart's geometry against the envelope's own judgement."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yamori.environment.envelope import Reading, ashrae, dew_point
from yamori.environment.psychro import bounds, humidity_ratio, inside, outline, ratio_at_dew_point

BANDS = [ashrae().recommended, *ashrae().allowable.values()]


def test_humidity_ratio_matches_the_handbook() -> None:
    # ASHRAE Handbook Fundamentals, psychrometric tables at 101.325 kPa: saturated air holds
    # 14.75 g/kg at 20 °C and 27.33 g/kg at 30 °C (the Magnus fit is within 1 %)
    assert humidity_ratio(20.0, 100.0) == pytest.approx(14.75, rel=0.01)
    assert humidity_ratio(30.0, 100.0) == pytest.approx(27.33, rel=0.01)
    assert ratio_at_dew_point(dew_point(24.0, 63.0)) == pytest.approx(humidity_ratio(24.0, 63.0), rel=1e-9)


@given(st.floats(0.0, 50.0), st.floats(1.0, 100.0), st.sampled_from(range(len(BANDS))))
def test_a_reading_is_between_the_bounds_exactly_when_the_band_finds_nothing_wrong(
        celsius: float, humidity: float, which: int) -> None:
    band = BANDS[which]
    dew = dew_point(celsius, humidity)
    w = humidity_ratio(celsius, humidity)
    wrong = band.violations(Reading(celsius, humidity), dew)
    edge = bounds(band, celsius)
    between = edge is not None and edge[0] <= w <= edge[1]
    near = edge is not None and min(abs(w - edge[0]), abs(w - edge[1])) < 1e-6
    assert between == (not wrong) or near, (celsius, humidity, wrong, edge, w)


def test_outlines_put_clear_cases_on_the_right_side() -> None:
    recommended = outline(ashrae().recommended)
    a1 = outline(ashrae().allowable["A1"])
    comfortable = (22.0, humidity_ratio(22.0, 45.0))
    muggy = (27.0, humidity_ratio(27.0, 60.0))      # both figures at their limits, dew point 18.6 °C
    assert inside(comfortable, recommended) and inside(comfortable, a1)
    assert not inside(muggy, recommended) and not inside(muggy, a1), "dew point above A1's 17 °C"
    assert inside((24.0, humidity_ratio(24.0, 63.0)), a1) and not inside((24.0, humidity_ratio(24.0, 63.0)),
                                                                          recommended)
    assert all(inside((t, w), a1) for t, w in [(20.0, 5.0), (30.0, 8.0)])
    assert not inside((40.0, 5.0), a1), "too hot for A1"
