"""Whatever a file contains, the parsers return records and the audit returns findings."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from yamori.audit.context import AuditContext
from yamori.audit.keepalived import check_keepalived
from yamori.audit.keepalived_conf import KaFile, parse_blocks
from yamori.audit.runner import AuditRequest, run_audit
from yamori.config import Settings
from yamori.postgres.files.conf import parse_conf
from yamori.postgres.files.hba import HbaInclude, HbaRule, parse_hba
from yamori.records import ParseProblem

WORDS = ["host", "local", "all", "include ", "10.0.0.0/8", "::1", "md5", "trust"]
ALPHABET = st.sampled_from([*'abc019 \t\n\\"\'#!{}/,.:=@+-*', *WORDS])
TEXT = st.lists(ALPHABET, max_size=80).map("".join)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_hba_parser_never_raises(text: str) -> None:
    for entry in parse_hba(text, "pg_hba.conf"):
        assert isinstance(entry, HbaRule | ParseProblem | HbaInclude)
        assert entry.line >= 1


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_conf_and_keepalived_parsers_never_raise(text: str) -> None:
    parse_conf(text)
    nodes, errors = parse_blocks(text, "k.conf")
    check_keepalived(KaFile("k.conf", nodes, errors), AuditContext())


def test_binary_garbage_named_like_configs(tmp_path: Path) -> None:
    junk = bytes(range(256)) * 8
    paths = []
    for name in ("pg_hba.conf", "postgresql.conf", "keepalived.conf", "rules.nft"):
        (tmp_path / name).write_bytes(junk)
        paths.append(str(tmp_path / name))
    findings = run_audit(Settings(), AuditRequest(paths=paths))
    assert {f.check for f in findings} >= {"hba.syntax", "pgconf.syntax", "nft.syntax"}
    assert all(f.file and f.file.startswith(str(tmp_path)) for f in findings)


def test_unreadable_directory_as_file(tmp_path: Path) -> None:
    (tmp_path / "pg_hba.conf").mkdir()
    findings = run_audit(Settings(), AuditRequest(paths=[str(tmp_path / "pg_hba.conf")]))
    assert [f.check for f in findings] == ["hba.syntax"]
    assert "could not open" in findings[0].message
