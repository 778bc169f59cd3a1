"""UPSes behind Network UPS Tools: what `upsd` says (status, charge, runtime, self-test) -> findings."""
