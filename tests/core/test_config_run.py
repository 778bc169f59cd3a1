"""Config check catches what run would trip on: every setting is validated where it is read,
and a property: any config `check` accepts, `run` starts with."""

from __future__ import annotations

import asyncio
import tempfile
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from yamori.agent import Agent
from yamori.cli import cli
from yamori.config import ConfigError, parse_config

TRIPS = [
    ('[inventory]\nallowlist = ["192.0.2.1 "]\n', 2, "inventory.allowlist[0]", "surrounding spaces"),
    ('[store]\nretention = { raw = "2d", "5m" = "14d", "7m" = "30d" }\n', 2, "store.retention.7m",
     "multiple of 5m"),
    ('[guard]\nlog_line_prefix = "%m [%p] %Z "\n', 2, "guard.log_line_prefix", "unknown escape %Z"),
    ('[[inventory.networks]]\nname = "admin"\ncidr = "203.0.113.0/28"\n[[inventory.services]]\nname = "ssh"\n'
     'port = 22\nallowed_from = ["admin", "adminn"]\n', 7, "inventory.services[0].allowed_from[1]",
     "unknown network name 'adminn'"),
    ('[[inventory.services]]\nname = "ssh"\nport = 22\nallowed_from = ["10.0.0.0/33"]\n', 4,
     "inventory.services[0].allowed_from[0]", "not an address or network"),
    ('[store]\nbackend = "postgres"\n', 1, "store.dsn", "required for the postgres backend"),
]


@pytest.mark.parametrize(("text", "line", "key", "message"), TRIPS)
def test_check_names_file_line_and_key(tmp_path: Path, text: str, line: int, key: str, message: str) -> None:
    cfg = tmp_path / "yamori.toml"
    cfg.write_text(text)
    result = CliRunner().invoke(cli, ["config", "check", str(cfg)])
    assert result.exit_code == 2
    assert f"{cfg}:{line}: {key}: " in result.output and message in result.output, result.output
    assert "Traceback" not in result.output


ALLOWLIST = st.lists(st.sampled_from(["192.0.2.1", "192.0.2.1 ", "198.51.100.0/24", "2001:db8::/32", "nope"]),
                     max_size=3)
RETENTION = st.sampled_from(['{ raw = "2d", "5m" = "14d", "1h" = "90d" }',
                             '{ raw = "2d", "5m" = "14d", "7m" = "30d" }', '{ raw = "1h", "5m" = "1d" }',
                             '{ raw = "2m", "5m" = "1d" }', '{ raw = "1d", "x" = "1d" }'])
PREFIX = st.sampled_from(["", "%m [%p] %q%u@%d ", "%m [%p] %Z ", "%t %c ", "%"])
SOURCES = st.lists(st.sampled_from(["admin", "adminn", " admin", "10.0.0.0/8", "10.0.0.0/33", "lan"]), max_size=3)


def _config(state: Path, allowlist: list[str], retention: str, prefix: str, sources: list[str]) -> str:
    quoted = ", ".join(f'"{a}"' for a in allowlist)
    froms = ", ".join(f'"{s}"' for s in sources)
    return textwrap.dedent(f"""\
        [agent]
        listen = "127.0.0.1:0"
        state_dir = "{state}"
        [store]
        retention = {retention}
        [guard]
        logs = ["{state}/no-such-log-*.log"]
        log_line_prefix = "{prefix}"
        [[inventory.networks]]
        name = "admin"
        cidr = "203.0.113.0/28"
        [[inventory.networks]]
        name = "lan"
        cidr = "198.51.100.0/24"
        [[inventory.services]]
        name = "ssh"
        port = 22
        allowed_from = [{froms}]
        [inventory]
        allowlist = [{quoted}]
        """)


async def _starts(text: str) -> None:
    agent = Agent(parse_config(text))
    task = asyncio.create_task(agent.run(install_signals=False))
    ready = asyncio.create_task(agent.ready.wait())
    await asyncio.wait({task, ready}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        ready.cancel()
        task.result()  # raises what stopped it
        raise AssertionError("the agent stopped by itself")
    assert agent.ready.is_set(), "the agent did not get ready within 30s"
    agent.stop()
    await asyncio.wait_for(task, timeout=30)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ALLOWLIST, RETENTION, PREFIX, SOURCES)
def test_any_config_check_accepts_run_starts_with(allowlist: list[str], retention: str, prefix: str,
                                                  sources: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        text = _config(Path(tmp) / "state", allowlist, retention, prefix, sources)
        try:
            parse_config(text)
        except ConfigError as err:
            assert all(p.line is not None and p.key for p in err.problems), str(err)
            event("check rejected it")
            return
        asyncio.run(_starts(text))
        event("check accepted it: run started")


def test_config_knows_exactly_the_escapes_the_reader_compiles() -> None:
    from yamori.config.guard import PREFIX_ESCAPES
    from yamori.postgres.log.prefix import _ESCAPES, PrefixError, compile_prefix

    assert set(_ESCAPES) == PREFIX_ESCAPES
    for letter in map(chr, range(33, 127)):
        text = f"%m %{letter} "
        try:
            compile_prefix(text)
            compiled = True
        except PrefixError:
            compiled = False
        try:
            parse_config(f"[guard]\nlog_line_prefix = '{text}'\n")
            accepted = True
        except ConfigError:
            accepted = False
        assert compiled == accepted, text
