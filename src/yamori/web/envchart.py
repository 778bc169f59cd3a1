"""The environment page: each room sensor's last reading, and the readings on a psychrometric
chart (dry bulb °C across, humidity ratio g/kg up) with the ASHRAE recommended envelope and
the equipment class's allowable one drawn. The chart is SVG made here: a few polygons and
lines, no script, so it shows wherever the page does."""

from __future__ import annotations

from typing import Any

from ..environment.envelope import ashrae, dew_point
from ..environment.psychro import humidity_ratio, inside, outline, ratio_at_dew_point, rh_curve
from ..probe import ProbeResult
from ..records import Finding

WIDTH, HEIGHT = 640, 400
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 12, 36      # room for the axes' labels
RH_LINES = (20, 40, 60, 80, 100)


def sensors(result: ProbeResult | None) -> list[dict[str, Any]]:
    """The environment probe's last reading per sensor, with its envelope finding if any."""
    if result is None:
        return []
    found: dict[str, dict[str, Any]] = {}
    for s in result.samples:
        name = s.labels.get("sensor")
        if name is None or s.metric not in ("env_temperature_celsius", "env_humidity_percent"):
            continue
        entry = found.setdefault(name, {"sensor": name, "rack": s.labels.get("rack", "")})
        entry["temperature" if s.metric == "env_temperature_celsius" else "humidity"] = s.value
    out = []
    for name in sorted(found):
        entry = found[name]
        if "temperature" not in entry or "humidity" not in entry:
            continue
        entry["dew_point"] = round(dew_point(entry["temperature"], entry["humidity"]), 1)
        entry["humidity_ratio"] = round(humidity_ratio(entry["temperature"], entry["humidity"]), 2)
        problem = _finding(result.findings, name)
        entry["state"] = str(problem.severity).upper() if problem else "OK"
        entry["message"] = problem.message if problem else ""
        out.append(entry)
    return out


def _finding(findings: list[Finding], sensor: str) -> Finding | None:
    return next((f for f in findings if f.check == "env.envelope" and f.subject == sensor), None)


def envelope(equipment_class: str) -> dict[str, Any]:
    """The two outlines in chart units (°C, g/kg), for the API and the chart."""
    env = ashrae()
    return {"class": equipment_class, "source": env.source,
            "recommended": [[round(t, 2), round(w, 3)] for t, w in outline(env.recommended)],
            "allowable": [[round(t, 2), round(w, 3)] for t, w in outline(env.allowable[equipment_class])]}


def chart(readings: list[dict[str, Any]], equipment_class: str) -> dict[str, Any]:
    """Everything the template draws, in SVG user units."""
    env = ashrae()
    band = env.allowable[equipment_class]
    t_low = min([0.0] + [r["temperature"] - 2 for r in readings])
    t_high = max([band.dry_bulb[1] + 5] + [r["temperature"] + 2 for r in readings])
    top_dew = band.dew_point[1] if band.dew_point[1] is not None else band.dry_bulb[1]
    w_high = max([ratio_at_dew_point(top_dew) * 1.25] + [r["humidity_ratio"] * 1.1 for r in readings])

    def x(t: float) -> float:
        return LEFT + (t - t_low) / (t_high - t_low) * (WIDTH - LEFT - RIGHT)

    def y(w: float) -> float:
        return HEIGHT - BOTTOM - w / w_high * (HEIGHT - TOP - BOTTOM)

    def points(pairs: list[tuple[float, float]]) -> str:
        return " ".join(f"{x(t):.1f},{y(w):.1f}" for t, w in pairs if w <= w_high)

    recommended, allowable = outline(env.recommended), outline(band)
    return {
        "width": WIDTH, "height": HEIGHT, "left": LEFT, "bottom": HEIGHT - BOTTOM, "top": TOP,
        "right": WIDTH - RIGHT,
        "allowable": points(allowable), "recommended": points(recommended),
        "rh": [{"rh": rh, "points": points(rh_curve(rh, t_low, t_high)),
                "label": _label(rh, t_low, t_high, w_high, x, y)} for rh in RH_LINES],
        "x_ticks": [{"x": round(x(t), 1), "label": f"{t:g}"} for t in _ticks(t_low, t_high, 5)],
        "y_ticks": [{"y": round(y(w), 1), "label": f"{w:g}"} for w in _ticks(0, w_high, 5 if w_high > 15 else 2)],
        "readings": [{**r, "x": round(x(r["temperature"]), 1), "y": round(y(r["humidity_ratio"]), 1),
                      "in_recommended": inside((r["temperature"], r["humidity_ratio"]), recommended),
                      "in_allowable": inside((r["temperature"], r["humidity_ratio"]), allowable)}
                     for r in readings],
    }


def _label(rh: float, t_low: float, t_high: float, w_high: float, x: Any, y: Any) -> dict[str, float] | None:
    """Where the curve's label goes: its last point inside the chart."""
    inside_chart = [(t, w) for t, w in rh_curve(rh, t_low, t_high) if w <= w_high]
    if not inside_chart:
        return None
    t, w = inside_chart[-1]
    return {"x": round(x(t), 1), "y": round(y(w), 1)}


def _ticks(low: float, high: float, every: int) -> list[int]:
    start = int(low // every + (1 if low % every else 0)) * every
    return list(range(start, int(high) + 1, every))
