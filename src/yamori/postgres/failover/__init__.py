"""Guided failover: the plan (checks, expected loss, steps), applying it, the DNS switch."""
