"""The catalog leaves unconfigured domains unloaded, without ever switching a configured one off."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from yamori import catalog
from yamori.config import Settings, parse_config

# Settings under which some NEEDS are false: the defaults, and a few half-configured ones
# (hosts declared without addresses, a LAN switched off, sections present but empty).
HALF_CONFIGURED = [
    "",
    '[[inventory.hosts]]\nname = "box"\n',
    '[network.lan]\nenabled = false\n[[inventory.hosts]]\nname = "db1"\naddresses = ["192.0.2.10"]\n',
    '[network.exposure]\nenabled = false\n[munin]\nplugins = []\n[postgres]\nservers = []\n',
]


@pytest.mark.parametrize("text", HALF_CONFIGURED)
def test_a_factory_whose_need_is_false_finds_nothing(text: str, tmp_path: Path) -> None:
    """NEEDS is only a necessary condition: whenever it is false, calling the factory anyway
    gives nothing, so skipping it loses no probe, service or rule."""
    settings = parse_config(f'[agent]\nstate_dir = "{tmp_path}"\n{text}', "yamori.toml") if text else Settings()
    skipped = [entry for entry, needed in catalog.NEEDS.items() if not needed(settings)]
    assert skipped, "every NEEDS true: this case tests nothing"
    for entry in skipped:
        assert catalog._load(entry)(settings) == [], entry


def test_every_need_names_a_catalog_entry() -> None:
    entries = {*catalog.PROBE_FACTORIES, *catalog.SERVICE_FACTORIES, *catalog.RULE_FACTORIES}
    assert set(catalog.NEEDS) <= entries


def test_configured_domains_are_built(tmp_path: Path) -> None:
    text = (f'[agent]\nstate_dir = "{tmp_path}"\n'
            '[[network.dns]]\nname = "db.example.org"\nexpect = ["192.0.2.7"]\nresolvers = ["127.0.0.1"]\n'
            f'[munin]\nplugin_dir = "{tmp_path / "absent"}"\n')
    settings = parse_config(text, "yamori.toml")
    names = {p.name for p in catalog.build_probes(settings)}
    assert "net.dns.db.example.org" in names, names
    assert any(n.startswith("munin") for n in names), names   # the unlistable plugin_dir is reported


def test_default_agent_does_not_import_unconfigured_domains() -> None:
    code = ("import json, sys\nfrom yamori.config import Settings\nfrom yamori.catalog import build_probes, "
            "build_services, build_rules\ns = Settings()\nbuild_probes(s); build_services(s); build_rules(s)\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    loaded = json.loads(out.stdout)
    for package in ("yamori.munin", "yamori.postgres.probe", "yamori.network.paths", "yamori.network.exposure",
                    "yamori.network.dns", "yamori.network.links", "yamori.ups", "statistics"):
        assert package not in loaded, package
