"""[capacity]: a room's or rack's budgets (power, cooling, rack units, floor load) and what is in it."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from .types import Section


class EquipmentEntry(Section):
    model: str = Field(description="the model, e.g. R650 (what `yamori capacity --add MODEL:N` names)")
    count: int = Field(1, ge=0, description="how many are installed")
    watts: float = Field(0.0, ge=0, description="power each draws, W (measured or the nameplate's typical)")
    units: float = Field(0.0, ge=0, description="rack units each takes, U")
    kg: float = Field(0.0, ge=0, description="weight of each, kg")

    @field_validator("model")
    @classmethod
    def _check_model(cls, value: str) -> str:
        if not value or ":" in value or len(value) > 80 or not value.isprintable():
            raise ValueError("a printable name of up to 80 characters without ':'")
        return value


class RoomEntry(Section):
    name: str = Field(description="the room or rack, e.g. dc1-rack12")
    power_w: float | None = Field(None, gt=0, description="power budget in W (or give power_kva)")
    power_kva: float | None = Field(None, gt=0, description="power budget in kVA (a UPS or PDU rating)")
    power_factor: float = Field(0.9, gt=0, le=1, description="W per VA for power_kva (servers with PFC: 0.9-0.99)")
    cooling_kw: float | None = Field(None, gt=0, description="cooling budget: heat the room's cooling removes, kW")
    rack_units: float | None = Field(None, gt=0, description="rack space, U")
    floor_area_m2: float | None = Field(None, gt=0, description="floor area the load stands on, m²")
    floor_load_kg_m2: float | None = Field(None, gt=0, description="what that floor bears, kg/m²")
    fixed_kg: float = Field(0.0, ge=0, description="weight already on that floor besides the equipment (racks, "
                                                   "PDUs, cabling), kg")
    equipment: list[EquipmentEntry] = Field([], description="what is installed")

    @model_validator(mode="after")
    def _consistent(self) -> RoomEntry:
        if self.power_w is not None and self.power_kva is not None:
            raise ValueError("give power_w or power_kva, not both")
        if (self.floor_area_m2 is None) != (self.floor_load_kg_m2 is None):
            raise ValueError("floor_area_m2 and floor_load_kg_m2 go together")
        return self


class CapacitySettings(Section):
    rooms: list[RoomEntry] = Field([], description="rooms or racks and their budgets")
    models: list[EquipmentEntry] = Field([], description="models not installed yet, for `--add MODEL:N` "
                                                         "(count is ignored)")

    @model_validator(mode="after")
    def _unique(self) -> CapacitySettings:
        names = [room.name for room in self.rooms]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"room names must be unique, repeated: {', '.join(repeated)}")
        return self
