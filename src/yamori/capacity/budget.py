"""Budgets of a room against what stands in it, and "what if I add N of X". Pure arithmetic.

Every watt a server draws becomes heat the cooling must remove, so the cooling budget is
used by the same watts as the power budget (in kW). The floor bears the equipment's weight
plus what is fixed there (racks, PDUs) against floor_load × floor_area.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..config.capacity import EquipmentEntry, RoomEntry
from ..records import State

WARNING_PERCENT = 80.0


@dataclass(frozen=True, slots=True)
class Budget:
    name: str      # power, cooling, rack_units, floor_load
    unit: str
    capacity: float
    used: float

    @property
    def left(self) -> float:
        return self.capacity - self.used

    @property
    def percent(self) -> float:
        return 100.0 * self.used / self.capacity

    def as_json(self) -> dict[str, Any]:
        return {"budget": self.name, "unit": self.unit, "capacity": round(self.capacity, 3),
                "used": round(self.used, 3), "left": round(self.left, 3), "percent": round(self.percent, 1)}


def per_item(name: str, item: EquipmentEntry) -> float:
    """What one item of this model uses of a budget."""
    return {"power": item.watts, "cooling": item.watts / 1000.0, "rack_units": item.units,
            "floor_load": item.kg}[name]


@dataclass(frozen=True, slots=True)
class Fit:
    model: str
    more: int | None          # None: uses none of the budgets (nothing limits it)
    limited_by: str | None

    def as_json(self) -> dict[str, Any]:
        return {"model": self.model, "more": self.more, "limited_by": self.limited_by}


@dataclass(frozen=True, slots=True)
class RoomReport:
    name: str
    budgets: tuple[Budget, ...]
    added: tuple[tuple[str, int], ...] = ()
    fits: tuple[Fit, ...] = field(default=())

    @property
    def runs_out_first(self) -> str | None:
        return max(self.budgets, key=lambda b: b.percent).name if self.budgets else None

    @property
    def state(self) -> State:
        worst = max((b.percent for b in self.budgets), default=0.0)
        return State.CRITICAL if worst > 100.0 else State.WARNING if worst >= WARNING_PERCENT else State.OK

    def as_json(self) -> dict[str, Any]:
        return {"room": self.name, "state": self.state.label, "runs_out_first": self.runs_out_first,
                "budgets": [b.as_json() for b in self.budgets],
                "added": [{"model": m, "count": n} for m, n in self.added],
                "fits": [f.as_json() for f in self.fits]}


def budgets(room: RoomEntry, equipment: list[tuple[EquipmentEntry, int]]) -> tuple[Budget, ...]:
    """`equipment` is (model entry, count) — the room's own plus any additions."""
    def total(name: str) -> float:
        return sum(per_item(name, item) * count for item, count in equipment)

    power = room.power_w if room.power_w is not None else (
        room.power_kva * 1000.0 * room.power_factor if room.power_kva is not None else None)
    result = []
    if power is not None:
        result.append(Budget("power", "W", power, total("power")))
    if room.cooling_kw is not None:
        result.append(Budget("cooling", "kW", room.cooling_kw, total("cooling")))
    if room.rack_units is not None:
        result.append(Budget("rack_units", "U", room.rack_units, total("rack_units")))
    if room.floor_area_m2 is not None and room.floor_load_kg_m2 is not None:
        result.append(Budget("floor_load", "kg", room.floor_area_m2 * room.floor_load_kg_m2,
                             total("floor_load") + room.fixed_kg))
    return tuple(result)


def how_many_more(room_budgets: tuple[Budget, ...], item: EquipmentEntry) -> Fit:
    best: tuple[float, str] | None = None
    for budget in room_budgets:
        need = per_item(budget.name, item)
        if need <= 0:
            continue
        room_for = budget.left / need  # fractional, so an overrun budget is the one named
        if best is None or room_for < best[0]:
            best = (room_for, budget.name)
    if best is None:
        return Fit(item.model, None, None)
    return Fit(item.model, max(0, math.floor(best[0] + 1e-9)), best[1])


def report(room: RoomEntry, add: Sequence[tuple[EquipmentEntry, int]] = (),
           catalog: Sequence[EquipmentEntry] = ()) -> RoomReport:
    equipment = [(item, item.count) for item in room.equipment] + list(add)
    room_budgets = budgets(room, equipment)
    models = {item.model: item for item in [*room.equipment, *catalog, *(a for a, _ in add)]}
    fits = tuple(how_many_more(room_budgets, item) for item in models.values())
    return RoomReport(room.name, room_budgets, tuple((item.model, n) for item, n in add), fits)


class CapacityError(ValueError):
    pass


def resolve_additions(specs: list[str], room: RoomEntry, rooms: list[RoomEntry],
                      catalog: list[EquipmentEntry]) -> list[tuple[EquipmentEntry, int]]:
    """'MODEL:N' -> (the model's entry, N): looked up in this room, then the other rooms, then the catalog."""
    known: dict[str, EquipmentEntry] = {}
    for item in [*catalog, *(i for r in rooms for i in r.equipment), *room.equipment]:
        known[item.model] = item  # later wins: this room's own entry first
    result = []
    for spec in specs:
        model, sep, count = spec.rpartition(":")
        if not sep or not model or not count.isdigit():
            raise CapacityError(f"--add {spec!r}: expected MODEL:N, e.g. R650:2")
        if model not in known:
            names = ", ".join(sorted(known)) or "none"
            raise CapacityError(f"--add {spec!r}: unknown model {model!r} (known: {names}); "
                                "describe it in [[capacity.models]]")
        result.append((known[model], int(count)))
    return result
