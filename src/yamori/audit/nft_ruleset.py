"""nftables rulesets from `nft -j list ruleset`: a small model of what the input hook accepts.

`parse_ruleset(json_text, listing)` is pure; `listing` is the `nft -a list ruleset` text, used
only to show each rule as the operator wrote it. Readers: the live ruleset (optionally inside a
named netns) and a file loaded into a throwaway network namespace (`unshare -n`), so auditing
a file never touches this machine's firewall.
"""

from __future__ import annotations

import ipaddress
import json
import re
import subprocess
from dataclasses import dataclass, field
from typing import Any

from ..inventory import IPNetwork
from ..records import ParseError, ParseProblem

ANY = None  # a source or port condition that matches everything
_HANDLE = re.compile(r"^\s*(?P<text>.*?)\s*# handle (?P<handle>\d+)\s*$")
_NFT_ERROR = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):[\d-]+: Error: (?P<message>.*)$", re.M)


class NftError(ParseError):
    """nft could not be run, or refused the ruleset (with nft's own file and line when it said)."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        super().__init__(ParseProblem(file or "", line, message))

    def __str__(self) -> str:
        return self.reason if not self.file else super().__str__()


@dataclass(frozen=True, slots=True)
class PortRange:
    proto: str | None   # tcp | udp | None (th / any)
    low: int
    high: int


@dataclass(slots=True)
class NftRule:
    family: str
    table: str
    chain: str
    handle: int
    verdict: str | None = None            # accept | drop | reject | jump | goto | None
    target: str | None = None             # chain for jump/goto
    sources: list[IPNetwork] | None = ANY
    ports: list[PortRange] | None = ANY
    proto: str | None = None
    loopback_only: bool = False
    established_only: bool = False
    comment: str = ""
    text: str = ""
    unread: list[str] = field(default_factory=list)   # source elements the audit could not read

    def matches(self, proto: str, port: int) -> bool:
        if self.proto is not None and self.proto != proto:
            return False
        if self.ports is ANY:
            return True
        return any((p.proto in (None, proto)) and p.low <= port <= p.high for p in self.ports)

    @property
    def describe(self) -> str:
        return self.text or f"handle {self.handle}"


@dataclass(slots=True)
class NftChain:
    family: str
    table: str
    name: str
    hook: str | None = None
    policy: str | None = None
    rules: list[NftRule] = field(default_factory=list)


@dataclass(slots=True)
class Ruleset:
    source: str
    chains: dict[tuple[str, str, str], NftChain] = field(default_factory=dict)

    def input_chains(self) -> list[NftChain]:
        return [c for c in self.chains.values() if c.hook == "input" and c.family in ("ip", "ip6", "inet")]


def parse_ruleset(json_text: str, listing: str = "", source: str = "nftables") -> Ruleset:
    try:
        items = json.loads(json_text)["nftables"]
    except (ValueError, KeyError, TypeError) as err:
        raise NftError(f"not nft JSON output: {err}") from err
    texts = _listing_texts(listing)
    ruleset = Ruleset(source)
    sets: dict[tuple[str, str, str], list[Any]] = {}
    for item in items:
        if "set" in item:
            s = item["set"]
            sets[(s["family"], s["table"], s["name"])] = s.get("elem", [])
        elif "chain" in item:
            c = item["chain"]
            ruleset.chains[(c["family"], c["table"], c["name"])] = NftChain(
                c["family"], c["table"], c["name"], c.get("hook"), c.get("policy"))
    for item in items:
        if "rule" in item:
            r = item["rule"]
            rule = _rule(r, sets)
            rule.text = texts.get((r["family"], r["table"], r["chain"], r["handle"]), "")
            chain = ruleset.chains.get((r["family"], r["table"], r["chain"]))
            if chain is not None:
                chain.rules.append(rule)
    return ruleset


def _listing_texts(listing: str) -> dict[tuple[str, str, str, int], str]:
    texts: dict[tuple[str, str, str, int], str] = {}
    family = table = chain = ""
    for line in listing.splitlines():
        words = line.split()
        if words[:1] == ["table"] and len(words) >= 3:
            family, table = words[1], words[2]
        elif words[:1] == ["chain"] and len(words) >= 2:
            chain = words[1]
        elif (m := _HANDLE.match(line)) and not line.strip().startswith(("type ", "chain ", "table ", "set ")):
            texts[(family, table, chain, int(m["handle"]))] = m["text"]
    return texts


def _rule(r: dict[str, Any], sets: dict[tuple[str, str, str], list[Any]]) -> NftRule:
    rule = NftRule(r["family"], r["table"], r["chain"], r["handle"], comment=r.get("comment", ""))
    for expr in r.get("expr", []):
        if "match" in expr:
            _match(rule, expr["match"], lambda name: sets.get((r["family"], r["table"], name), []))
        for verdict in ("accept", "drop", "reject"):
            if verdict in expr:
                rule.verdict = verdict
        for verdict in ("jump", "goto"):
            if verdict in expr:
                rule.verdict, rule.target = verdict, expr[verdict]["target"]
    return rule


def _match(rule: NftRule, match: dict[str, Any], named: Any) -> None:
    left, right, op = match.get("left", {}), match.get("right"), match.get("op", "==")
    if not isinstance(left, dict):
        return
    if "payload" in left:
        payload = left["payload"]
        field_, proto = payload.get("field"), payload.get("protocol")
        if field_ == "saddr" and op in ("==", "in"):
            rule.sources, rule.unread = _networks(_elements(right, named))
        elif field_ == "dport" and op in ("==", "in"):
            rule.ports = _ports(_elements(right, named), proto if proto in ("tcp", "udp") else None)
            if proto in ("tcp", "udp"):
                rule.proto = proto
    elif "meta" in left and left["meta"].get("key") in ("iif", "iifname") and op == "==" and right == "lo":
        rule.loopback_only = True
    elif "meta" in left and left["meta"].get("key") == "l4proto" and op == "==" and right in ("tcp", "udp"):
        rule.proto = right
    elif "ct" in left and left["ct"].get("key") == "state" and op in ("==", "in"):
        states = set(right if isinstance(right, list) else [right])
        rule.established_only = not states & {"new", "untracked"}


def _elements(right: Any, named: Any) -> list[Any]:
    if isinstance(right, str) and right.startswith("@"):
        return [e.get("elem", {}).get("val", e) if isinstance(e, dict) and "elem" in e else e for e in named(right[1:])]
    if isinstance(right, dict) and "set" in right:
        return list(right["set"])
    return [right]


def _networks(values: list[Any]) -> tuple[list[IPNetwork] | None, list[str]]:
    """The networks of a source match, and the elements that could not be read. When any element
    is unreadable the rule is taken to match every source (ANY): a rule must never look
    narrower than it is; the unread elements become a finding."""
    nets: list[IPNetwork] = []
    unread: list[str] = []
    for value in values:
        try:
            if isinstance(value, str):
                nets.append(ipaddress.ip_network(value, strict=False))
            elif isinstance(value, dict) and "prefix" in value:
                nets.append(ipaddress.ip_network(f"{value['prefix']['addr']}/{value['prefix']['len']}", strict=False))
            elif isinstance(value, dict) and "range" in value:
                low, high = (ipaddress.ip_address(v) for v in value["range"])
                nets.extend(ipaddress.summarize_address_range(low, high))
            else:
                unread.append(json.dumps(value)[:80])
        except (ValueError, TypeError, KeyError):
            unread.append(json.dumps(value, default=str)[:80])
    return (ANY if unread else nets), unread


def _ports(values: list[Any], proto: str | None) -> list[PortRange]:
    ports: list[PortRange] = []
    for value in values:
        if isinstance(value, int):
            ports.append(PortRange(proto, value, value))
        elif isinstance(value, dict) and "range" in value:
            low, high = value["range"]
            if isinstance(low, int) and isinstance(high, int):
                ports.append(PortRange(proto, low, high))
    return ports


# -- readers ---------------------------------------------------------------------------------

def _run(args: list[str], timeout: float = 30) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(args, text=True, errors="replace", capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise NftError(f"cannot run {args[0]}: {err}") from err


def read_live(netns: str | None = None) -> Ruleset:
    """The ruleset the kernel is using now (in `netns` when given)."""
    prefix = ["ip", "netns", "exec", netns] if netns else []
    out = _run([*prefix, "nft", "-j", "list", "ruleset"])
    if out.returncode != 0:
        raise NftError(f"nft -j list ruleset failed: {out.stderr.strip()}")
    listing = _run([*prefix, "nft", "-a", "list", "ruleset"]).stdout
    return parse_ruleset(out.stdout, listing, "live ruleset" + (f" (netns {netns})" if netns else ""))


_SEPARATOR = "----yamori-listing----"


def load_file(path: str) -> Ruleset:
    """Load an nft file into a fresh, empty network namespace and read it back as JSON."""
    script = f'nft -f "$1" && nft -j list ruleset && echo {_SEPARATOR} && nft -a list ruleset'
    out = _run(["unshare", "--net", "sh", "-c", script, "sh", path])
    if out.returncode != 0:
        match = _NFT_ERROR.search(out.stderr)
        if match:
            raise NftError(match["message"].strip(), match["file"], int(match["line"]))
        raise NftError(out.stderr.strip() or f"nft -f failed with status {out.returncode}", path)
    json_text, _, listing = out.stdout.partition(_SEPARATOR)
    return parse_ruleset(json_text, listing, path)
