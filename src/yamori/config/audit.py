"""[audit]: configuration audit (issue: stale rules, exposure, keepalived pitfall)."""

from __future__ import annotations

from pydantic import Field

from .types import Duration, Section


class AuditSettings(Section):
    enabled: bool = Field(True, description="run the audit periodically in the agent")
    interval: Duration = Field(3600.0, description="how often the agent re-runs the audit")
    paths: list[str] = Field(default_factory=list, description="files to audit; empty = discover on this machine")
    host: str = Field("", description="the [[inventory.hosts]] name of this machine; its addresses tell the "
                                        "keepalived check which real servers are the director itself")
    listeners: bool = Field(True, description="compare listening sockets with the declared services")
    nftables: bool = Field(True, description="audit the live nftables ruleset")
