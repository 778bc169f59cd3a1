"""Config: typed validation whose every error names file, line and key path."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from yamori.cli import cli
from yamori.config import ConfigError, Settings, load_config, parse_config
from yamori.config.example import example_config
from yamori.config.locate import key_lines
from yamori.config.types import format_duration, parse_duration

CONTRACT = """
[agent]
listen = "127.0.0.1:8421"   # /metrics, /healthz, status page; port 0 = any free port
state_dir = "./var"         # SQLite store, outbox, positions
proc = "/proc"              # roots the readers use; tests point them at fixture trees
sys = "/sys"
[alerts.email]
host = "127.0.0.1"
port = 25
security = "none"           # none | starttls | ssl
username = ""               # password from YAMORI_SMTP_PASSWORD, never required in the file
sender = "yamori@example.org"
to = ["ops@example.org"]
[alerts.webhook]
url = "http://127.0.0.1:8080/hook"

[[inventory.networks]]      # the operator's own networks
name = "admin"
cidr = "203.0.113.0/28"     # IPv4 or IPv6
role = "admin"              # admin | lan | replication | monitoring | public | ...
[[inventory.networks]]      # allowed_from names must be declared (issue 10)
name = "app"
cidr = "10.20.0.0/24"
role = "lan"
[[inventory.hosts]]
name = "db1"
addresses = ["10.20.0.11", "2001:db8::11"]
role = "database"
[[inventory.services]]
name = "postgresql"
host = "db1"
port = 5432
proto = "tcp"
allowed_from = ["admin", "app"]   # network names or CIDRs
"""


def test_contract_keys_load_as_written() -> None:
    settings = parse_config(CONTRACT)
    assert settings.agent.listen == "127.0.0.1:8421"
    assert settings.alerts.email.to == ["ops@example.org"]
    assert settings.alerts.webhook.url == "http://127.0.0.1:8080/hook"
    assert settings.inventory.networks[0].cidr == "203.0.113.0/28"
    assert settings.inventory.hosts[0].addresses == ["10.20.0.11", "2001:db8::11"]
    assert settings.inventory.services[0].allowed_from == ["admin", "app"]


def _problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "yamori.toml")
    return [str(p) for p in caught.value.problems]


def test_wrong_type_names_file_line_and_key() -> None:
    text = CONTRACT.replace("port = 25", 'port = "twenty-five"')
    line = text.splitlines().index('port = "twenty-five"') + 1
    assert _problems(text) == [f"yamori.toml:{line}: alerts.email.port: expected an integer"]


def test_every_problem_is_reported_at_once() -> None:
    text = 'bogus = 1\n[agent]\nlisten = "nowhere"\n[[inventory.networks]]\nname = "x"\ncidr = "300.1.2.3/8"\n'
    problems = _problems(text)
    assert "yamori.toml:1: bogus: unknown key" in problems
    assert any(p.startswith("yamori.toml:3: agent.listen: expected HOST:PORT") for p in problems)
    assert any(p.startswith("yamori.toml:6: inventory.networks[0].cidr: not a network") for p in problems)


def test_second_array_entry_is_located() -> None:
    text = '[[inventory.networks]]\nname = "a"\ncidr = "10.0.0.0/8"\n\n[[inventory.networks]]\nname = "b"\nrole = 5\n'
    assert _problems(text) == [
        "yamori.toml:5: inventory.networks[1].cidr: required key is missing",
        "yamori.toml:7: inventory.networks[1].role: expected a string",
    ]


def test_invalid_toml_names_line() -> None:
    assert _problems("[agent]\nlisten = \n")[0].startswith("yamori.toml:2: not valid TOML")


def test_security_must_be_one_of() -> None:
    problems = _problems('[alerts.email]\nsecurity = "tls"\n')
    assert problems == ["yamori.toml:2: alerts.email.security: expected one of 'none', 'starttls' or 'ssl'"]


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.toml")


def test_durations() -> None:
    assert parse_duration("90s") == 90 and parse_duration("5m") == 300 and parse_duration("14d") == 14 * 86400
    assert parse_duration(12) == 12
    for bad in ("soon", "-5m", True, -1):
        with pytest.raises(ValueError):
            parse_duration(bad)


@given(st.integers(min_value=1, max_value=10**9))
def test_duration_round_trip(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds


def test_example_is_valid_and_equals_defaults() -> None:
    text = example_config()
    assert parse_config(text) == Settings()
    # every section and key is there, including the contract ones
    for key in ("listen", "state_dir", "security", "log_line_prefix", "[[inventory.networks]]", "allowed_from"):
        assert key in text


def test_example_array_tables_are_valid_when_uncommented() -> None:
    text = example_config()
    lines, in_block = [], False
    for line in text.splitlines():
        in_block = line.startswith("# [[") or (in_block and line.startswith("# "))
        lines.append(line[2:] if in_block else line)
    data = tomllib.loads("\n".join(lines))
    assert data["inventory"]["networks"][0]["cidr"] == "203.0.113.0/28"


def test_key_lines_follow_tables_and_arrays() -> None:
    lines = key_lines('[a]\nx = 1\n[[b.c]]\ny = 2\n[[b.c]]\ny = 3\n"quoted.key" = 4\n')
    assert lines[("a", "x")] == 2
    assert lines[("b", "c", 0, "y")] == 4
    assert lines[("b", "c", 1, "y")] == 6
    assert lines[("b", "c", 1, "quoted.key")] == 7


def test_cli_config_check(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(CONTRACT)
    bad = tmp_path / "bad.toml"
    bad.write_text("[alerts.email]\nport = \"x\"\n")
    runner = CliRunner()
    result = runner.invoke(cli, ["--config", str(good), "config", "check"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["--config", str(bad), "config", "check"])
    assert result.exit_code == 2
    assert f"{bad}:2: alerts.email.port: expected an integer" in result.output
    assert "Traceback" not in result.output


def test_broken_config_fails_every_command_cleanly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[agent]\nlisten = 5\n")
    result = CliRunner().invoke(cli, ["--config", str(bad), "check", "--json"])
    assert result.exit_code == 2
    assert "bad.toml:2: agent.listen" in result.output
