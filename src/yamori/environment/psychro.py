"""The psychrometric chart's geometry: air as (dry bulb °C, humidity ratio g/kg), and the
outline of an ASHRAE band on those axes. Pure: numbers in, numbers out.

On these axes a band is the area between a lower and an upper humidity ratio at each
temperature: a dew-point bound is a horizontal line (the humidity ratio of air depends on its
dew point only), an RH bound is a curve that rises with temperature, and saturation (100 %)
is the top of the chart. The saturation pressure uses the same Magnus coefficients as
`envelope.dew_point`, so a reading plots inside an outline exactly when `Band.violations`
finds nothing wrong with it.
"""

from __future__ import annotations

import math

from .envelope import MAGNUS_A, MAGNUS_B, Band

SEA_LEVEL_KPA = 101.325
MAGNUS_KPA = 0.6112      # saturation vapour pressure over water at 0 °C (the formula's scale)
EPSILON = 0.621945       # ratio of the molar masses of water vapour and dry air


def saturation_kpa(celsius: float) -> float:
    return MAGNUS_KPA * math.exp(MAGNUS_A * celsius / (MAGNUS_B + celsius))


def ratio_at_vapour(kpa: float, pressure: float = SEA_LEVEL_KPA) -> float:
    """Humidity ratio in grams of water per kilogram of dry air."""
    return 1000.0 * EPSILON * kpa / (pressure - kpa)


def humidity_ratio(celsius: float, humidity: float, pressure: float = SEA_LEVEL_KPA) -> float:
    """g/kg of air at `celsius` dry bulb and `humidity` % RH."""
    return ratio_at_vapour(saturation_kpa(celsius) * humidity / 100.0, pressure)


def ratio_at_dew_point(dew: float, pressure: float = SEA_LEVEL_KPA) -> float:
    return ratio_at_vapour(saturation_kpa(dew), pressure)


def bounds(band: Band, celsius: float) -> tuple[float, float] | None:
    """(lowest, highest) humidity ratio the band admits at this dry bulb; None outside its
    temperatures or where its bounds leave nothing."""
    if not band.dry_bulb[0] <= celsius <= band.dry_bulb[1]:
        return None
    dew_low, dew_high = band.dew_point
    rh_low, rh_high = band.humidity
    low = max(0.0, ratio_at_dew_point(dew_low) if dew_low is not None else 0.0,
              humidity_ratio(celsius, rh_low) if rh_low is not None else 0.0)
    high = min(humidity_ratio(celsius, 100.0),
               ratio_at_dew_point(dew_high) if dew_high is not None else math.inf,
               humidity_ratio(celsius, rh_high) if rh_high is not None else math.inf)
    return (low, high) if low <= high else None


def outline(band: Band, step: float = 0.25) -> list[tuple[float, float]]:
    """The band as a closed polygon of (°C, g/kg): its upper edge left to right, then its lower
    edge right to left. Empty when the band admits no air at all."""
    lo, hi = band.dry_bulb
    count = max(1, math.ceil((hi - lo) / step))
    temps = [lo + (hi - lo) * i / count for i in range(count + 1)]
    edges = [(t, b) for t in temps if (b := bounds(band, t)) is not None]
    return [(t, b[1]) for t, b in edges] + [(t, b[0]) for t, b in reversed(edges)]


def rh_curve(humidity: float, low: float, high: float, step: float = 0.5) -> list[tuple[float, float]]:
    count = max(1, math.ceil((high - low) / step))
    return [(t, humidity_ratio(t, humidity)) for t in (low + (high - low) * i / count for i in range(count + 1))]


def inside(point: tuple[float, float], polygon: list[tuple[float, float]]) -> bool:
    """Even-odd rule: whether the point lies inside the polygon."""
    x, y = point
    found = False
    for (x1, y1), (x2, y2) in zip(polygon, polygon[1:] + polygon[:1], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            found = not found
    return found
