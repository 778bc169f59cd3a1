"""Compare yamori's parse of a pg_hba.conf with PostgreSQL's pg_hba_file_rules, line by line."""

from __future__ import annotations

import contextlib
import ipaddress
from dataclasses import dataclass

from yamori.postgres.files.hba import HbaFile

# Options the server adds or hides on its own (defaults it fills in, include_realm=0 and
# clientname it does not show).
_DERIVED_OPTIONS = ("ldapscope=", "include_realm=", "clientname=")
# The server shows an ldapurl as its parts and ldaptls=1 as ldaptls=true: for ldap rows every
# other option yamori read must appear in the server's list.
_LDAP_REWRITTEN = ("ldapurl=", "ldaptls=")


@dataclass(frozen=True)
class OracleRow:
    line: int
    conn_type: str | None
    databases: tuple[str, ...]
    users: tuple[str, ...]
    address: str | None
    netmask: str | None
    method: str | None
    options: tuple[str, ...]
    error: str | None


def parse_pg_array(text: str) -> tuple[str, ...]:
    """A PostgreSQL text[] literal as psql prints it: {a,"b c",""}."""
    if text in ("(null)", ""):
        return ()
    inner, items, pos = text[1:-1], [], 0
    while pos < len(inner):
        if inner[pos] == '"':
            pos += 1
            chars = []
            while inner[pos] != '"':
                if inner[pos] == "\\":
                    pos += 1
                chars.append(inner[pos])
                pos += 1
            items.append("".join(chars))
            pos += 2
        else:
            end = inner.find(",", pos)
            end = len(inner) if end < 0 else end
            items.append(inner[pos:end])
            pos = end + 1
    return tuple(items)


def rows_from_tsv(text: str) -> list[OracleRow]:
    rows = []
    for line in text.splitlines()[1:]:
        cols = line.split("\t")
        if len(cols) != 9:
            continue
        none = [None if c == "(null)" else c for c in cols]
        rows.append(OracleRow(int(cols[0]), none[1], parse_pg_array(cols[2]), parse_pg_array(cols[3]), none[4],
                              none[5], none[6], parse_pg_array(cols[7]), none[8]))
    return rows


def mine_by_line(parsed: HbaFile) -> dict[int, dict[str, object]]:
    result: dict[int, dict[str, object]] = {}
    for rule in parsed.rules:
        result[rule.line] = {
            "type": rule.conn_type,
            "database": tuple(t.text for t in rule.databases),
            "user_name": tuple(t.text for t in rule.users),
            "address": rule.ip if rule.ip is not None else rule.address,
            "netmask": rule.mask,
            "method": rule.method,
            "options": frozenset(f"{k}={v}" for k, v in rule.options if not f"{k}=".startswith(_DERIVED_OPTIONS)),
        }
    for error in parsed.errors:
        result[error.line] = {"error": error.message}
    return result


def theirs(row: OracleRow) -> dict[str, object]:
    if row.error:
        return {"error": row.error}
    address: object = row.address
    if row.address and row.address not in ("all", "samehost", "samenet"):
        with contextlib.suppress(ValueError):
            address = ipaddress.ip_address(row.address)
    return {
        "type": row.conn_type,
        "database": row.databases,
        "user_name": row.users,
        "address": address,
        "netmask": ipaddress.ip_address(row.netmask) if row.netmask else None,
        "method": row.method,
        "options": frozenset(o for o in row.options if not o.startswith(_DERIVED_OPTIONS)),
    }


def differences(parsed: HbaFile, rows: list[OracleRow], skip: set[int] = frozenset()) -> list[str]:  # type: ignore[assignment]
    """Every line where yamori and the server disagree: a rule vs an error, or any field."""
    mine = mine_by_line(parsed)
    out = []
    for row in rows:
        if row.line in skip:
            continue
        want, got = theirs(row), mine.get(row.line)
        if got is None:
            out.append(f"line {row.line}: server has {want}, yamori nothing")
        elif "error" in want or "error" in got:
            if ("error" in want) != ("error" in got):
                out.append(f"line {row.line}: server {want} vs yamori {got}")
        elif not _same(want, got):
            out.append(f"line {row.line}: server {want} vs yamori {got}")
    extra = set(mine) - {r.line for r in rows} - skip
    out.extend(f"line {n}: yamori has {mine[n]}, server nothing" for n in sorted(extra))
    return out


def _same(want: dict[str, object], got: dict[str, object]) -> bool:
    if want.get("method") != "ldap":
        return want == got
    mine = {o for o in got["options"] if not o.startswith(_LDAP_REWRITTEN)}  # type: ignore[attr-defined]
    rest = ("type", "database", "user_name", "address", "netmask", "method")
    return all(want[k] == got[k] for k in rest) and mine <= want["options"]  # type: ignore[operator]
