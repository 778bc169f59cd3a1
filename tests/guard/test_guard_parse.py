"""Parsing the corpora: every format, English and Japanese, the incident line, hostile names."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.loggen import generate_log
from yamori.postgres.log.catalog import catalog
from yamori.postgres.log.guess import guess_prefix
from yamori.postgres.log.prefix import DEBIAN_PREFIX, compile_prefix, iso_time
from yamori.postgres.log.read import detect_format, scan_file
from yamori.postgres.log.stderr import scan_stderr
from yamori.postgres.log.structured import LogFormatError, scan_csvlog, scan_jsonlog

EXPECTED_KINDS = (["password_failed"] * 2 + ["no_hba_entry"] * 2 + ["hba_reject"] * 3 + ["no_hba_entry"] * 3
                  + ["password_failed"] * 3 + ["no_hba_entry", "password_failed"])


@pytest.fixture(scope="module")
def gen(corpora: Path) -> Path:
    return corpora / "pg-auth-log" / "generated-pg15"


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_stderr_corpus(gen: Path, lang: str) -> None:
    events, sus = scan_stderr((gen / f"{lang}.log").read_bytes(), DEBIAN_PREFIX)
    assert [e.kind for e in events] == EXPECTED_KINDS
    assert {e.lang for e in events} == {lang}
    trusted = [e for e in events if e.trusted]
    assert len(trusted) == 15
    assert {e.source for e in trusted} == {"127.0.0.1", "::1"}
    # replication connections carry no database
    assert [e.database for e in events if e.kind == "hba_reject"][2] is None
    assert events[1].role_exists is False and events[0].role_exists is None
    assert events[2].encryption == "SSL encryption" and events[3].encryption == "no encryption"
    # the user name that mimics the rest of the message: resolved by the prefix, host is PostgreSQL's
    evil = events[13]
    assert evil.user == 'evil", database "postgres", no encryption' and evil.database == "otherdb"
    assert evil.trusted and evil.source == "127.0.0.1"
    # the user name with a newline and a forged log line: read whole (its names are quoted in the
    # message), attributed through its own backend's connection line, never to the forged PID
    forged = events[14]
    assert forged.trusted and forged.source == "127.0.0.1" and forged.role_exists is False
    assert forged.user is not None and forged.user.startswith("inj\n")
    assert sus == []
    assert events[0].time == "2026-11-24T23:43:01.757+00:00" if lang == "en" else events[0].time


@pytest.mark.parametrize("name", ["en.log", "ja.log", "en-plain.log", "ja-plain.log"])
def test_fast_lane_agrees_with_careful_reading(gen: Path, name: str) -> None:
    data = (gen / name).read_bytes()
    assert scan_stderr(data, DEBIAN_PREFIX) == scan_stderr(data, DEBIAN_PREFIX, fast=False)


def test_fast_lane_agrees_on_the_generated_log(tmp_path: Path) -> None:
    out = tmp_path / "gen.log"
    counts = generate_log(20000, out)
    data = out.read_bytes()
    fast, careful = scan_stderr(data, DEBIAN_PREFIX), scan_stderr(data, DEBIAN_PREFIX, fast=False)
    assert fast == careful and len(fast[0]) == counts["failures"]
    assert all(e.trusted and e.source for e in fast[0])


@pytest.mark.parametrize("name", ["en.csv", "ja.csv", "en.json", "ja.json"])
def test_structured_corpus(gen: Path, name: str) -> None:
    text = (gen / name).read_text(encoding="utf-8")
    events, sus = scan_csvlog(text) if name.endswith(".csv") else scan_jsonlog(text)
    assert [e.kind for e in events] == EXPECTED_KINDS
    assert all(e.trusted for e in events) and not sus
    assert events[-1].user is not None and "\n" in events[-1].user
    assert events[-1].source == "127.0.0.1"   # structured columns: even the forged name is attributed
    assert events[1].role_exists is False


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_plain_password_details(gen: Path, lang: str) -> None:
    events, _ = scan_stderr((gen / f"{lang}-plain.log").read_bytes(), DEBIAN_PREFIX)
    assert [e.role_exists for e in events] == [True, True, True, False]


def test_incident_bare_line(incidents: Path) -> None:
    report = scan_file(str(incidents / "pg-auth-failure-from-lan.log"))
    assert [(e.source, e.user, e.database, e.kind, e.encryption, e.trusted) for e in report.events] == [
        ("172.22.182.49", "postgres", "postgres", "no_hba_entry", "no encryption", True)]
    explicit = scan_file(str(incidents / "pg-auth-failure-from-lan.log"), "stderr", "")
    assert [e.source for e in explicit.events] == ["172.22.182.49"]


def test_in_the_wild(corpora: Path) -> None:
    wild = corpora / "pg-auth-log" / "in-the-wild"
    report = scan_file(str(wild / "fail2ban-issue-3662-pg16-debian-lines.log"))
    assert [e.source for e in report.events] == ["123.156.231.95"] * 3
    assert report.events[0].time == "2024-01-12T10:43:25.312+01:00"
    docs = scan_file(str(wild / "pg-docs-authentication-problems-examples.txt"))
    assert [(e.kind, e.source) for e in docs.events] == [("no_hba_entry", "123.123.123.123"),
                                                        ("password_failed", None)]


def test_formats_detected(gen: Path) -> None:
    for name, fmt in (("en.log", "stderr"), ("en.csv", "csvlog"), ("ja.json", "jsonlog")):
        assert detect_format(name, (gen / name).read_bytes()[:4096]) == fmt
    assert guess_prefix((gen / "ja.log").read_bytes()) == DEBIAN_PREFIX


def test_every_prefix_escape_compiles() -> None:
    p = compile_prefix("%a %u %d %r %h %b %p %P %t %m %n %i %e %c %l %s %v %x %Q %% %-10u|%q%L ")
    assert {"u", "d", "a", "q"} <= p.escapes


def test_catalogs_cover_old_versions() -> None:
    cat = catalog(("en", "ja"))
    for msg, kind in [('no pg_hba.conf entry for host "1.2.3.4", user "u", database "d", SSL off', "no_hba_entry"),
                      ('no pg_hba.conf entry for host "1.2.3.4", user "u", database "d"', "no_hba_entry"),
                      ('pg_hba.conf にホスト"1.2.3.4"、ユーザ"u"、データベース"d, SSL無効用のエントリがありません',
                       "no_hba_entry"),
                      ("incomplete startup packet", "invalid_startup_packet"),
                      ("unsupported frontend protocol 1234.5679: server supports 3.0 to 3.0", "unsupported_protocol"),
                      ("開始パケットが不完全です", "invalid_startup_packet")]:
        assert {t.kind for t, _ in cat.match(msg)} == {kind}, msg


def test_times() -> None:
    assert iso_time("2026-11-24 23:43:01 JST") == "2026-11-24T23:43:01+09:00"
    assert iso_time("2026-11-24 23:43:01.5 XYZ") == "2026-11-24T23:43:01.500"
    assert iso_time("2026-11-24 23:43:01.000 CET", "Asia/Tokyo") == "2026-11-24T23:43:01.000+09:00"


def test_malformed_inputs(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"timestamp": "x", "message": "no pg_hba.conf entry for host \\"1.2.3.4\\"\n')
    report = scan_file(str(bad), "jsonlog")
    assert report.errors and str(report.errors[0]).startswith(f"{bad}:1: not a JSON object")
    short = tmp_path / "short.csv"
    short.write_text('2026-11-24 23:43:01.757 UTC,"a",28000\n')
    errors = [str(e) for e in scan_file(str(short)).errors]
    assert errors == [f"{short}:1: csvlog row has 3 columns, expected at least 15"]
    with pytest.raises(LogFormatError):
        scan_csvlog("x," * 3 + "\n")
    assert str(scan_file(str(tmp_path / "missing.log")).errors[0]).endswith("No such file or directory")


def test_a_language_is_data(tmp_path: Path) -> None:
    from yamori.postgres.log import catalog as messages

    de = 'kein pg_hba.conf-Eintrag für Host »203.0.113.4«, Benutzer »root«, Datenbank »x«, keine Verschlüsselung'
    assert [(t.kind, t.lang, f["host"]) for t, f in catalog(("en", "de")).match(de)] == [
        ("no_hba_entry", "de", "203.0.113.4")]
    # a broken catalog on the machine is not used (and reported); the packaged translations still apply
    (tmp_path / "ja" / "LC_MESSAGES").mkdir(parents=True)
    (tmp_path / "ja" / "LC_MESSAGES" / "postgres-99.mo").write_bytes(b"not a catalog")
    assert "ユーザー\"%s\"のパスワード認証に失敗しました" in messages.translations("ja", str(tmp_path))[
        'password authentication failed for user "%s"']
    assert [p.file for p in messages.catalog_problems(("ja",), str(tmp_path))] == [
        str(tmp_path / "ja" / "LC_MESSAGES" / "postgres-99.mo")]
