from __future__ import annotations

import pytest

from yamori.config import parse_config
from yamori.inventory import Inventory, Zone

CONFIG = """
[inventory]
allowlist = ["198.51.100.7"]
[[inventory.networks]]
name = "admin"
cidr = "203.0.113.0/28"
role = "admin"
[[inventory.networks]]
name = "lan"
cidr = "10.20.0.0/16"
role = "lan"
[[inventory.networks]]
name = "db"
cidr = "10.20.0.0/24"
role = "database"
[[inventory.networks]]
name = "v6"
cidr = "2001:db8:1::/48"
"""


@pytest.fixture
def inventory() -> Inventory:
    return Inventory(parse_config(CONFIG).inventory)


@pytest.mark.parametrize(("address", "zone", "network"), [
    ("127.0.0.1", Zone.LOOPBACK, None),
    ("::1", Zone.LOOPBACK, None),
    ("203.0.113.5", Zone.OPERATOR, "admin"),
    ("10.20.0.11", Zone.OPERATOR, "db"),          # the most specific network wins
    ("10.20.9.1", Zone.OPERATOR, "lan"),
    ("2001:db8:1::5", Zone.OPERATOR, "v6"),
    ("172.22.182.49", Zone.PRIVATE, "RFC 1918 172.16/12"),   # incident 1
    ("192.168.0.10", Zone.PRIVATE, "RFC 1918 192.168/16"),
    ("100.64.1.1", Zone.PRIVATE, "shared address space 100.64/10 (RFC 6598)"),
    ("fd00::1", Zone.PRIVATE, "unique local fc00::/7"),
    ("fe80::1", Zone.PRIVATE, "link-local fe80::/10"),
    ("::ffff:172.22.182.49", Zone.PRIVATE, "RFC 1918 172.16/12"),
    ("198.51.100.20", Zone.INTERNET, None),
])
def test_classify(inventory: Inventory, address: str, zone: Zone, network: str | None) -> None:
    result = inventory.classify(address)
    assert result.zone == zone
    assert result.network == network


def test_classify_rejects_host_names(inventory: Inventory) -> None:
    with pytest.raises(ValueError):
        inventory.classify("evil.example.org")


def test_allowlist_and_sources(inventory: Inventory) -> None:
    assert inventory.is_allowlisted("198.51.100.7")
    assert not inventory.is_allowlisted("198.51.100.8")
    assert not inventory.is_allowlisted("not an address")
    nets = inventory.resolve_sources(["admin", "192.0.2.0/24", "nonexistent"])
    assert [str(n) for n in nets] == ["203.0.113.0/28", "192.0.2.0/24"]
