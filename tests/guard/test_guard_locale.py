"""`[agent] locale_dir`: PostgreSQL's installed message catalogs are read from the configured
directory, and a broken one is reported by name instead of being skipped silently."""

from __future__ import annotations

import gettext
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from tests.guard.test_guard_service import ListSink, settings

from yamori.cli import cli
from yamori.config.model import Settings
from yamori.guard.service import GuardService
from yamori.postgres.log.catalog import ALL_MSGIDS, catalog, catalog_problems, translations
from yamori.postgres.log.read import LogReader

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
LOCALE = FIXTURES / "locale"
REAL = LOCALE / "ja" / "LC_MESSAGES" / "postgres-15.mo"
BROKEN = LOCALE / "ja" / "LC_MESSAGES" / "postgres-14.mo"


def test_catalogs_come_from_the_locale_dir_given(tmp_path: Path) -> None:
    with open(REAL, "rb") as f:
        mo = gettext.GNUTranslations(f)
    from_mo = {m: mo.gettext(m) for m in ALL_MSGIDS if mo.gettext(m) != m}
    assert len(from_mo) > 10
    ja = translations("ja", str(LOCALE))
    assert all(text in ja[m] for m, text in from_mo.items())
    assert catalog(("en", "ja"), str(LOCALE)).locale_dir == str(LOCALE)
    # an empty locale dir: no installed catalog, nothing to report
    assert catalog_problems(("en", "ja"), str(tmp_path)) == []


def test_a_broken_catalog_is_reported_by_name() -> None:
    problems = catalog_problems(("en", "ja"), str(LOCALE))
    assert [p.file for p in problems] == [str(BROKEN)]
    assert str(problems[0]).startswith(f"{BROKEN}: broken message catalog, not used: ")
    # the real catalog next to it is still used, and reading a log goes on
    events = LogReader("stderr", "%m [%p] ", ("en", "ja"), locale_dir=str(LOCALE)).feed(
        "2026-11-25 09:59:00.000 UTC [7] FATAL:  ユーザー\"x\"のパスワード認証に失敗しました\n".encode(), final=True)
    assert [(e.user, e.kind, e.lang) for e in events] == [("x", "password_failed", "ja")]


def test_guard_scan_takes_locale_dir_from_the_config(tmp_path: Path, corpora: Path) -> None:
    log = corpora / "pg-auth-log" / "generated-pg15" / "ja.log"
    plain = CliRunner().invoke(cli, ["guard", "scan", "--json", str(log)])
    config = tmp_path / "yamori.toml"
    config.write_text(f'[agent]\nlocale_dir = "{LOCALE}"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "guard", "scan", "--json", str(log)])
    assert result.exit_code == plain.exit_code == 1, result.output
    assert f"yamori: warning: {BROKEN}: broken message catalog" in result.stderr
    assert "warning" not in plain.stderr
    assert result.stdout == plain.stdout and json.loads(result.stdout.splitlines()[-1])["summary"]["failures"]


def test_the_guard_service_reports_a_broken_catalog(tmp_path: Path) -> None:
    (tmp_path / "postgresql-Mon.log").write_text("")
    conf = settings(tmp_path).model_dump()
    conf["agent"]["locale_dir"] = str(LOCALE)
    service = GuardService(Settings.model_validate(conf))
    assert service.locale_dir == str(LOCALE)
    sink = ListSink()
    service.start(sink)
    found = [f for f in sink.findings if f.check == "guard.catalog_unreadable"]
    assert [(f.file, f.severity.name) for f in found] == [(str(BROKEN), "WARNING")]
    assert str(BROKEN) in found[0].message


def test_has_config_file_follows_find_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`guard scan` decides whether to load the config by CliContext.has_config_file: the same
    rule as find_config, without importing the config model."""
    from yamori.cli.context import CliContext
    from yamori.config import find_config

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("YAMORI_CONFIG", raising=False)
    cases = []
    for explicit, env, local in [(None, None, False), ("x.toml", None, False), (None, "y.toml", False),
                                 (None, None, True)]:
        if env:
            monkeypatch.setenv("YAMORI_CONFIG", env)
        else:
            monkeypatch.delenv("YAMORI_CONFIG", raising=False)
        (tmp_path / "yamori.toml").unlink(missing_ok=True)
        if local:
            (tmp_path / "yamori.toml").write_text("")
        cases.append((CliContext(explicit).has_config_file, find_config(explicit) is not None))
    assert cases == [(False, False), (True, True), (True, True), (True, True)]
