"""LAN hygiene: duplicate IPv4/IPv6 addresses and gateway MAC changes (incident 8).

netlink.py watches the kernel's neighbour table; arp.py sends RFC 5227 probes; conflict.py
decides (pure); oui.py names vendors; service.py and probe.py run it in the agent;
scan.py is `yamori net neighbours`."""
