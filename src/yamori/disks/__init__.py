"""Disks' own health: SMART through `smartctl --json`."""
