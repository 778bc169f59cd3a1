"""pg_hba.conf parsing against PostgreSQL's own verdicts (recorded) and other projects' samples."""

from __future__ import annotations

import re
from pathlib import Path

from hba_oracle import differences, rows_from_tsv

from yamori.postgres.files.hba import HbaInclude, HbaRule, load_hba, logical_lines, parse_hba, tokenize_line
from yamori.records import ParseProblem

# PG 15 rejects include directives ("invalid connection type"); yamori follows PG 16+.
PG16_ONLY = {36, 37, 38}


def test_tricky_file_matches_recorded_pg15_view(corpora: Path, tmp_path: Path) -> None:
    src = corpora / "pg_hba/generated-pg15"
    rows = rows_from_tsv((src / "pg_hba_file_rules.tsv").read_text())
    parsed = load_hba(src / "pg_hba.tricky.conf")
    # Line 28 (radius): PG 15.18 shows an all-NULL row without an error; nothing to compare.
    assert differences(parsed, rows, skip=PG16_ONLY | {28}) == []
    assert {r.line for r in rows if r.error} - PG16_ONLY == {e.line for e in parsed.errors} - PG16_ONLY


def test_error_messages_match_the_server_wording(corpora: Path) -> None:
    src = corpora / "pg_hba/generated-pg15"
    rows = {r.line: r.error for r in rows_from_tsv((src / "pg_hba_file_rules.tsv").read_text()) if r.error}
    entries = parse_hba((src / "pg_hba.tricky.conf").read_text(), "pg_hba.conf")
    mine = {e.line: e.message for e in entries if isinstance(e, ParseProblem)}
    same = [n for n in mine if rows.get(n) == mine[n]]
    assert len(same) >= 20, (mine, rows)


def test_include_tree_gives_the_order_postgresql_expects(corpora: Path) -> None:
    tree = corpora / "pg_hba/pg-tap-tests/include-tree"
    parsed = load_hba(tree / "subdir1/pg_hba_custom.conf")
    got = [(Path(r.file).name, r.line, ",".join(t.text for t in r.databases), r.method) for r in parsed.rules]
    assert got == [
        ("pg_hba_custom.conf", 1, "all", "trust"), ("pg_hba_pre.conf", 1, "pre", "reject"),
        ("pg_hba_custom.conf", 3, "all", "reject"), ("pg_hba_pos.conf", 1, "pos", "reject"),
        ("pg_hba_pos2.conf", 1, "pos2", "reject"), ("pg_hba_pos2.conf", 2, "pos3", "reject"),
        ("some", 1, "if_some", "reject"), ("01_z.conf", 1, "dir_z", "reject"), ("02_a.conf", 1, "dir_a", "reject"),
        ("pg_hba_custom.conf", 8, "db1,db3", "reject"),
    ]
    assert parsed.errors == []


def test_missing_include_is_an_error_at_the_directive(tmp_path: Path) -> None:
    (tmp_path / "pg_hba.conf").write_text("local all all peer\ninclude nothere.conf\ninclude_if_exists gone.conf\n")
    parsed = load_hba(tmp_path / "pg_hba.conf")
    assert [(e.line, "nothere.conf" in e.message) for e in parsed.errors] == [(2, True)]


def test_continuation_lines_keep_the_first_line_number() -> None:
    text = "local all all\\\n trust\nhost all all 10.0.0.0/8 \\\n  scram-sha-256 # c\nlocal all all peer\n"
    entries = parse_hba(text)
    assert [(e.line, e.method) for e in entries if isinstance(e, HbaRule)] == [(1, "trust"), (3, "scram-sha-256"),
                                                                                (5, "peer")]
    assert logical_lines("a\\\nb\\\nc\nd") == [(1, "abc"), (4, "d")]


def test_quoting_commas_and_keywords() -> None:
    fields = tokenize_line('host "my db","a,b" all,"all" /^x$ "/^y,z$" +grp @f "@g" md5')
    assert [[t.text for t in f] for f in fields] == [["host"], ["my db", "a,b"], ["all", "all"], ["/^x$"],
                                                      ["/^y,z$"], ["+grp"], ["@f"], ["@g"], ["md5"]]
    assert fields[2][0].is_keyword("all") and not fields[2][1].is_keyword("all")
    assert fields[6][0].is_file_ref and not fields[7][0].is_file_ref
    spaced = tokenize_line("local all /^.*nomatch.*$, baduser, /^scr.*$ password")
    assert [t.text for t in spaced[2]] == ["/^.*nomatch.*$", "baduser", "/^scr.*$"]


def test_derived_tap_test_lines_parse(corpora: Path) -> None:
    text = (corpora / "pg_hba/pg-tap-tests/derived-hba-lines.conf").read_text()
    text = text.replace("${servercidr}", "127.0.0.1/32").replace("${hostaddr}", "127.0.0.1")
    text = text.replace("${authmethod}", "cert")
    entries = parse_hba(text)
    rules = [e for e in entries if isinstance(e, HbaRule)]
    assert len(rules) >= 30
    regex = next(r for r in rules if any(t.text == "/^.*m,.*e$" for t in r.users))
    assert regex.method == "password"
    ldap = [r for r in rules if r.method == "ldap"]
    assert ldap and all(r.option("ldapserver") or r.option("ldapurl") for r in ldap)


def test_docs_examples_parse_without_errors(corpora: Path, tmp_path: Path) -> None:
    for name in ("example-pg-hba.conf-pg13", "example-pg-hba.conf-pg18"):
        entries = parse_hba((corpora / "pg_hba/pg-docs" / name).read_text(), name)
        assert [e for e in entries if isinstance(e, ParseProblem)] == [], name
        assert len([e for e in entries if isinstance(e, HbaRule)]) >= 10


def test_every_corpus_file_parses_without_crashing(corpora: Path) -> None:
    for path in sorted((corpora / "pg_hba").rglob("*")):
        if path.is_file() and path.suffix not in (".md", ".tsv"):
            entries = parse_hba(path.read_text(errors="replace"), str(path))
            assert all(isinstance(e, HbaRule | ParseProblem | HbaInclude) for e in entries)
            assert all(e.line >= 1 for e in entries)


def test_augeas_cases_agree_with_postgresql(corpora: Path) -> None:
    """REJECT inputs are errors; OK inputs parse, except a pre-8.4 `METHOD sameuser`, which
    modern PostgreSQL rejects ("authentication option not in name=value format")."""
    blocks = (corpora / "pg_hba/augeas/test_pg_hba-inputs.txt").read_text().split("=== ")[1:]
    for block in blocks:
        head, body = block.split("\n", 1)
        errors = [e.message for e in parse_hba(body) if isinstance(e, ParseProblem)]
        if head.startswith("REJECT"):
            assert errors, body
        elif re.search(r"\S\s+sameuser\s*$", body, re.M):
            assert set(errors) == {"authentication option not in name=value format: sameuser"}
        else:
            assert errors == [], body
