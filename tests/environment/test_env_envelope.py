"""The envelope maths: worked points, the ASHRAE figures and the dew point's bound."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from yamori.environment.envelope import Reading, ReadingError, ashrae, assess, check_reading, dew_point
from yamori.records import Severity


def test_worked_point_27c_60rh_is_outside_recommended_by_dew_point_alone() -> None:
    assert dew_point(27.0, 60.0) == pytest.approx(18.6, abs=0.05)
    result = assess(Reading(27.0, 60.0), "A1")
    # the temperature (<= 27) and RH (<= 60) bounds are met; only the dew point is not
    assert result.severity == Severity.CRITICAL  # 18.6 °C DP is above A1's allowable 17 °C as well
    assert result.reasons == ("dew point 18.6 °C above 17 °C",)
    a2 = assess(Reading(27.0, 60.0), "A2")
    assert a2.severity == Severity.WARNING
    assert a2.reasons == ("dew point 18.6 °C above 15 °C",)


@pytest.mark.parametrize(("temperature", "humidity", "expected"), [
    (20.0, 50.0, 9.3),     # psychrometric tables: 9.3 °C
    (25.0, 40.0, 10.5),
    (30.0, 80.0, 26.2),
    (0.0, 100.0, 0.0),
    (10.0, 10.0, -20.2),
])
def test_dew_point_against_psychrometric_tables(temperature: float, humidity: float, expected: float) -> None:
    assert dew_point(temperature, humidity) == pytest.approx(expected, abs=0.2)


def test_inside_recommended_is_no_finding() -> None:
    assert assess(Reading(22.0, 45.0), "A1").severity is None


@pytest.mark.parametrize(("reading", "cls", "severity", "reason"), [
    (Reading(28.0, 30.0), "A1", Severity.WARNING, "temperature 28.0 °C above 27 °C"),
    (Reading(33.0, 30.0), "A1", Severity.CRITICAL, "temperature 33.0 °C above 32 °C"),
    (Reading(33.0, 30.0), "A2", Severity.WARNING, "temperature 33.0 °C above 27 °C"),
    (Reading(16.0, 50.0), "A1", Severity.WARNING, "temperature 16.0 °C below 18 °C"),
    (Reading(22.0, 65.0), "A1", Severity.WARNING, "RH 65.0 % above 60 %"),
    (Reading(22.0, 85.0), "A1", Severity.CRITICAL, "dew point 19.4 °C above 17 °C"),
    (Reading(22.0, 5.0), "A1", Severity.CRITICAL, "dew point -19.5 °C below -12 °C"),
    (Reading(42.0, 20.0), "A4", Severity.WARNING, "temperature 42.0 °C above 27 °C"),
    (Reading(46.0, 20.0), "A4", Severity.CRITICAL, "temperature 46.0 °C above 45 °C"),
])
def test_bands(reading: Reading, cls: str, severity: Severity, reason: str) -> None:
    result = assess(reading, cls)
    assert result.severity == severity
    assert reason in result.reasons


def test_data_file_cites_the_edition_and_has_every_class() -> None:
    envelope = ashrae()
    assert "Thermal Guidelines for Data Processing Environments, 4th edition" in envelope.source
    assert set(envelope.allowable) == {"A1", "A2", "A3", "A4"}
    assert envelope.recommended.dry_bulb == (18.0, 27.0)
    assert envelope.recommended.dew_point == (-9.0, 15.0)
    assert envelope.recommended.humidity == (None, 60.0)


@given(st.floats(min_value=-40, max_value=80), st.floats(min_value=0.01, max_value=100.0))
def test_dew_point_never_exceeds_dry_bulb(temperature: float, humidity: float) -> None:
    value = dew_point(temperature, humidity)
    assert math.isfinite(value)
    assert value <= temperature


@given(st.floats(min_value=-40, max_value=80), st.floats(min_value=0.5, max_value=99.5))
def test_dew_point_rises_with_humidity(temperature: float, humidity: float) -> None:
    assert dew_point(temperature, humidity) < dew_point(temperature, humidity + 0.5)


@pytest.mark.parametrize(("temperature", "humidity"), [
    (float("nan"), 50.0), (25.0, float("inf")), (25.0, 0.0), (25.0, 101.0), (-300.0, 50.0), (1e308, 50.0)])
def test_impossible_readings_are_refused(temperature: float, humidity: float) -> None:
    with pytest.raises(ReadingError):
        check_reading(temperature, humidity)
