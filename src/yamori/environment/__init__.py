"""The machine room: inlet air against the ASHRAE envelope, and the UPSes behind NUT."""
