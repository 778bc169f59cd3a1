"""The root settings model: one section per table of yamori.toml."""

from __future__ import annotations

from pydantic import Field

from .agent import AgentSettings
from .alerts import AlertsSettings
from .audit import AuditSettings
from .capacity import CapacitySettings
from .environment import EnvironmentSettings
from .guard import GuardSettings
from .inventory import InventorySettings
from .munin import MuninSettings
from .network import NetworkSettings
from .postgres import PostgresSettings
from .probes import ProbesSettings
from .store import StoreSettings
from .types import Section
from .web import WebSettings


class Settings(Section):
    agent: AgentSettings = Field(default_factory=AgentSettings)
    store: StoreSettings = Field(default_factory=StoreSettings)
    probes: ProbesSettings = Field(default_factory=ProbesSettings)
    alerts: AlertsSettings = Field(default_factory=AlertsSettings)
    inventory: InventorySettings = Field(default_factory=InventorySettings)
    guard: GuardSettings = Field(default_factory=GuardSettings)
    postgres: PostgresSettings = Field(default_factory=PostgresSettings)
    audit: AuditSettings = Field(default_factory=AuditSettings)
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    munin: MuninSettings = Field(default_factory=MuninSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    environment: EnvironmentSettings = Field(default_factory=EnvironmentSettings)
    capacity: CapacitySettings = Field(default_factory=CapacitySettings)
