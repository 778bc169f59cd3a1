"""Bans in nftables: yamori's own `inet` table, one set per family with timeouts and a size cap,
and one rule per family that drops new connections (`ct state new`) from the set's members:
established and related traffic is left alone. Plan (JSON commands as data), then apply
with `nft -j -f -`. Every address is validated with `ipaddress` first: nft would resolve a host
name it is handed."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

NFT = ["nft"]


class NftError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class BanRow:
    address: str
    timeout: int | None
    expires: int | None
    comment: str

    def as_json(self) -> dict[str, Any]:
        return {"address": self.address, "timeout": self.timeout, "expires": self.expires, "comment": self.comment}


def family_set(address: str) -> tuple[str, str]:
    """(set name, canonical address); ValueError for anything that is not one IP address."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ("banned4" if ip.version == 4 else "banned6"), str(ip)


def plan_setup(table: str, size: int) -> list[dict[str, Any]]:
    """Idempotent: add (no-op when present) table, sets and chain, then replace the chain's rules."""
    chain = {"family": "inet", "table": table, "name": "input", "type": "filter", "hook": "input",
             "prio": -10, "policy": "accept"}
    cmds: list[dict[str, Any]] = [{"add": {"table": {"family": "inet", "name": table}}}]
    for name, kind in (("banned4", "ipv4_addr"), ("banned6", "ipv6_addr")):
        cmds.append({"add": {"set": {"family": "inet", "table": table, "name": name, "type": kind,
                                     "flags": ["timeout"], "size": size}}})
    cmds.append({"add": {"chain": chain}})
    cmds.append({"flush": {"chain": {"family": "inet", "table": table, "name": "input"}}})
    for name, proto in (("banned4", "ip"), ("banned6", "ip6")):
        cmds.append({"add": {"rule": {"family": "inet", "table": table, "chain": "input", "comment": "yamori guard",
                                      "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}},
                                                          "right": "new"}},
                                               {"match": {"op": "==",
                                                          "left": {"payload": {"protocol": proto, "field": "saddr"}},
                                                          "right": f"@{name}"}},
                                               {"drop": None}]}}})
    return cmds


def plan_ban(table: str, address: str, seconds: int, comment: str) -> list[dict[str, Any]]:
    name, addr = family_set(address)
    elem = {"elem": {"val": addr, "timeout": max(1, int(seconds)), "comment": _comment(comment)}}
    return [{"add": {"element": {"family": "inet", "table": table, "name": name, "elem": [elem]}}}]


def plan_unban(table: str, address: str) -> list[dict[str, Any]]:
    name, addr = family_set(address)
    return [{"delete": {"element": {"family": "inet", "table": table, "name": name, "elem": [addr]}}}]


def _comment(text: str) -> str:
    # nft comments are at most 128 bytes; keep printable ASCII only
    clean = "".join(c if 32 <= ord(c) < 127 and c != '"' else "?" for c in text)
    return clean[:120]


def apply(cmds: list[dict[str, Any]], nft: list[str] | None = None) -> None:
    payload = json.dumps({"nftables": [{"metainfo": {"json_schema_version": 1}}, *cmds]})
    try:
        proc = subprocess.run([*(nft or NFT), "-j", "-f", "-"], input=payload, text=True, capture_output=True,
                              timeout=30)
    except FileNotFoundError:
        raise NftError("nft not found: install nftables (apt-get install nftables)") from None
    except subprocess.TimeoutExpired:
        raise NftError("nft did not answer within 30 s") from None
    if proc.returncode != 0:
        err = proc.stderr.strip().splitlines()
        hint = " (needs root or CAP_NET_ADMIN)" if os.geteuid() != 0 or "Operation not permitted" in proc.stderr else ""
        raise NftError(f"nft failed{hint}: {err[0] if err else proc.returncode}")


def list_bans(table: str, nft: list[str] | None = None) -> list[BanRow]:
    rows: list[BanRow] = []
    for name in ("banned4", "banned6"):
        try:
            proc = subprocess.run([*(nft or NFT), "-j", "list", "set", "inet", table, name], text=True,
                                  capture_output=True, timeout=30)
        except FileNotFoundError:
            raise NftError("nft not found: install nftables (apt-get install nftables)") from None
        if proc.returncode != 0:
            if "No such file" in proc.stderr:
                continue   # table not created yet: nothing banned
            raise NftError(f"nft list set failed: {proc.stderr.strip() or proc.returncode}")
        for item in json.loads(proc.stdout).get("nftables", []):
            for elem in item.get("set", {}).get("elem", []) or []:
                rows.append(_row(elem))
    return rows


def _row(elem: Any) -> BanRow:
    if isinstance(elem, dict) and "elem" in elem:
        e = elem["elem"]
        return BanRow(str(e.get("val")), e.get("timeout"), e.get("expires"), str(e.get("comment", "")))
    return BanRow(str(elem), None, None, "")


def unban_address(table: str, address: str, state_dir: Path | None = None, nft: list[str] | None = None) -> bool:
    """Remove one address from the set (and from the persisted bans). False if it was not banned."""
    _, addr = family_set(address)
    if state_dir is not None:
        from .bans import BanStore

        BanStore(Path(state_dir)).remove(addr)
    if not any(r.address == addr for r in list_bans(table, nft)):
        return False
    apply(plan_unban(table, addr), nft)
    return True
