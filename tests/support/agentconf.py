"""Config text the agent tests share."""

from __future__ import annotations

QUIET = "".join(f"[{section}]\nenabled = false\n" for section in ("probes.system", "probes.hwmon", "probes.conntrack",
                                                                   "audit"))
"""The probes that would read this machine, and the audit: off, so a test agent does only its own job."""
