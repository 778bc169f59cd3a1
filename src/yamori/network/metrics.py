"""Every metric the network probes emit, described once (help texts for /metrics and the pages)."""

from __future__ import annotations

METRICS: dict[str, dict[str, str]] = {
    # paths, per hop (labels path, hop) and per target (labels path, target)
    "net_loss_percent": {"unit": "percent", "help": "echo requests lost in one round"},
    "net_rtt_median_ms": {"unit": "ms", "help": "median echo round-trip time in one round"},
    "net_rtt_min_ms": {"unit": "ms", "help": "fastest echo round-trip time in one round"},
    "net_rtt_max_ms": {"unit": "ms", "help": "slowest echo round-trip time in one round"},
    "net_rtt_spread_ms": {"unit": "ms", "help": "slowest minus fastest echo round-trip time in one round"},
    "net_tcp_failures": {"unit": "", "help": "new TCP connects that failed in one round"},
    "net_tcp_connect_ms": {"unit": "ms", "help": "median TCP handshake time to a target in one round"},
    "net_http_ok": {"unit": "", "help": "1 when every HTTP(S) request to the target succeeded in the round"},
    "net_http_latency_ms": {"unit": "ms", "help": "median time of a complete HTTP(S) request over a new connection"},
    "net_tls_days_left": {"unit": "days", "help": "days until the target's certificate expires"},
    # DNS (labels name, resolver)
    "net_dns_ok": {"unit": "", "help": "1 when the resolver answered (whatever the answer)"},
    "net_dns_ms": {"unit": "ms", "help": "time the resolver took to answer"},
    # uplinks (label interface)
    "net_link_rx_bits_per_second": {"unit": "bit/s", "help": "bits received on the uplink"},
    "net_link_tx_bits_per_second": {"unit": "bit/s", "help": "bits sent on the uplink"},
    "net_link_used_percent": {"unit": "percent", "help": "the busier direction's rate against the link's capacity"},
    "net_link_p95_percent": {"unit": "percent", "help": "95th percentile of the link's use over the last day"},
    # LAN hygiene and exposure (network/lan, network/exposure)
    "net_lan_neighbours": {"unit": "", "help": "neighbour-table entries with a MAC address the watcher sees"},
    "net_lan_neighbours_seen": {"unit": "", "help": "devices listed by the last ARP sweep (table and answers)"},
    "net_exposure_answering": {"unit": "", "help": "amplification-prone services that answered the last exposure run"},
}
