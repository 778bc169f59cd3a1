"""Munin field types turned into the value a graph shows, as rrdtool does for munin-update.

munin-node passes the plugin's raw numbers on; munin-update stores them in an RRD whose data
source has the field's type, and rrdtool turns counters into per-second rates. We do the same
here so the live metric and the imported history mean the same thing (rrd_update.c):

- GAUGE: the value as is;
- COUNTER: (now - before) / seconds; when the counter went back it wrapped: add 2^32, and if
  still negative add 2^64 - 2^32 (a 64-bit counter);
- DERIVE: (now - before) / seconds, may be negative (a counter reset) unless `min` forbids it;
- ABSOLUTE: now / seconds (the plugin resets its counter each read).

Then, as rrdtool, a result outside the field's `min`/`max` is unknown, and so is a rate over
a gap longer than the heartbeat. Pure: the caller keeps `Previous` and passes the time.
"""

from __future__ import annotations

from dataclasses import dataclass

_WRAP32 = 4294967296.0
_WRAP64_REST = 18446744069414584320.0  # 2^64 - 2^32


@dataclass(frozen=True, slots=True)
class Previous:
    value: float
    time: float


def convert(kind: str, value: float | None, now: float, previous: Previous | None,
            heartbeat: float, low: float | None = None, high: float | None = None) -> float | None:
    """The value to store for one reading, or None (unknown: first reading of a counter,
    a gap over the heartbeat, a result outside min/max)."""
    if value is None:
        return None
    if kind == "GAUGE":
        result: float | None = value
    else:
        if previous is None:
            return None
        seconds = now - previous.time
        if seconds <= 0 or seconds > heartbeat:
            return None
        result = _rate(kind, value, previous.value, seconds)
    if result is None or (low is not None and result < low) or (high is not None and result > high):
        return None
    return result


def _rate(kind: str, value: float, before: float, seconds: float) -> float | None:
    if kind == "ABSOLUTE":
        return value / seconds
    delta = value - before
    if kind == "COUNTER" and delta < 0:
        delta += _WRAP32
        if delta < 0:
            delta += _WRAP64_REST
    if kind in ("COUNTER", "DERIVE"):
        return delta / seconds
    return None
