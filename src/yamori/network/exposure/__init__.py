"""Exposure of the operator's own devices (incident 7): one request per amplification-prone
UDP service per declared host, answers measured. Each protocol module builds its request and
judges the answer (pure); runner.py does the bounded, rate-limited I/O; targets.py makes sure
nothing outside [[inventory.hosts]] is ever sent a packet."""
