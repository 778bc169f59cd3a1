"""[network]: paths to watch hop by hop, DNS expectations, uplinks, LAN hygiene."""

from __future__ import annotations

from .types import Section


class NetworkSettings(Section):
    """Filled by the network domains: paths/dns/links (network paths), lan/exposure (LAN)."""
