"""keepalived.conf: a brace tokenizer, a block tree with file:line, and the VRRP/IPVS model.

`parse_blocks(text, filename)` is pure; `load_keepalived(path)` follows `include GLOB`
(relative to the including file's directory). Conditional lines (`@id ...`) are kept with the
condition dropped: an audit must see what any instance could run.
"""

from __future__ import annotations

import glob
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path

from ..records import ParseProblem

MAX_INCLUDE_DEPTH = 8
CHECKERS = {"HTTP_GET", "SSL_GET", "TCP_CHECK", "SMTP_CHECK", "MISC_CHECK", "DNS_CHECK", "BFD_CHECK",
            "UDP_CHECK", "PING_CHECK", "FILE_CHECK"}
LVS_METHODS = {"NAT", "DR", "TUN"}


@dataclass(slots=True)
class Node:
    keyword: str
    args: list[str]
    file: str
    line: int
    children: list[Node] | None = None

    def find(self, keyword: str) -> list[Node]:
        return [c for c in self.children or [] if c.keyword == keyword]

    def value(self, keyword: str) -> Node | None:
        found = self.find(keyword)
        return found[-1] if found else None


KaError = ParseProblem


@dataclass(slots=True)
class KaFile:
    path: str
    nodes: list[Node] = field(default_factory=list)
    errors: list[KaError] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


# -- tokenizer and tree ----------------------------------------------------------------------

def tokenize(line: str) -> list[str]:
    tokens: list[str] = []
    pos, end = 0, len(line)
    while pos < end:
        c = line[pos]
        if c in " \t\r":
            pos += 1
        elif c in "#!":
            break
        elif c in "{}":
            tokens.append(c)
            pos += 1
        elif c == '"':
            close = line.find('"', pos + 1)
            close = end if close < 0 else close
            tokens.append(line[pos + 1:close])
            pos = close + 1
        else:
            start = pos
            while pos < end and line[pos] not in ' \t\r{}"#!':
                pos += 1
            tokens.append(line[start:pos])
    return tokens


def parse_blocks(text: str, filename: str = "keepalived.conf") -> tuple[list[Node], list[KaError]]:
    root = Node("", [], filename, 0, [])
    stack = [root]
    errors: list[KaError] = []
    for number, raw in enumerate(text.splitlines(), 1):
        tokens = tokenize(raw)
        if tokens and tokens[0].startswith("@"):
            tokens = tokens[1:]   # conditional configuration: @id / @^id prefixes
        if tokens and tokens[0].startswith("$"):
            continue              # parameter definitions ($NAME=value)
        current: Node | None = None
        for token in tokens:
            if token == "{":
                if current is None:
                    current = _anonymous(stack, filename, number)
                current.children = []
                stack.append(current)
                current = None
            elif token == "}":
                if len(stack) == 1:
                    errors.append(KaError(filename, number, "unexpected '}' (more closing than opening braces)"))
                else:
                    stack.pop()
                current = None
            elif current is None:
                current = Node(token, [], filename, number)
                assert stack[-1].children is not None
                stack[-1].children.append(current)
            else:
                current.args.append(token)
    for node in stack[1:]:
        errors.append(KaError(node.file, node.line,
                              f"block '{node.keyword}' opened here is never closed (missing '}}')"))
    return root.children or [], errors


def _anonymous(stack: list[Node], filename: str, number: int) -> Node:
    # A '{' on its own line opens the block of the previous statement.
    parent = stack[-1]
    if parent.children and parent.children[-1].children is None:
        return parent.children[-1]
    node = Node("", [], filename, number)
    assert parent.children is not None
    parent.children.append(node)
    return node


def load_keepalived(path: str | Path) -> KaFile:
    result = KaFile(str(path))
    result.nodes = _load(result, Path(path), 0)
    return result


def _load(result: KaFile, path: Path, depth: int) -> list[Node]:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        result.errors.append(KaError(str(path), 0, f"cannot read: {err.strerror}"))
        return []
    result.files.append(str(path))
    nodes, errors = parse_blocks(text, str(path))
    result.errors.extend(errors)
    out: list[Node] = []
    for node in nodes:
        if node.keyword != "include":
            out.append(node)
        elif depth >= MAX_INCLUDE_DEPTH:
            result.errors.append(KaError(node.file, node.line, "include nested too deeply"))
        else:
            out.extend(_include(result, node, path.parent, depth))
    return out


def _include(result: KaFile, node: Node, base: Path, depth: int) -> list[Node]:
    out: list[Node] = []
    for pattern in node.args:
        matches = sorted(glob.glob(str(base / pattern)))
        if not matches:
            result.errors.append(KaError(node.file, node.line, f"include {pattern}: no file matches"))
        for match in matches:
            out.extend(_load(result, Path(match), depth + 1))
    return out


# -- model -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Vip:
    interface: ipaddress.IPv4Interface | ipaddress.IPv6Interface
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class VrrpInstance:
    name: str
    interface: str | None
    router_id: str | None
    auth_pass: str | None
    auth_line: int | None
    vips: tuple[Vip, ...]
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class RealServer:
    address: str
    port: str | None
    checked: bool
    file: str
    line: int


@dataclass(frozen=True, slots=True)
class VirtualServer:
    label: str                       # "192.0.2.10 80", "group WEB", "fwmark 7"
    endpoints: tuple[tuple[str, str | None], ...]  # (address or range, port)
    method: str
    real_servers: tuple[RealServer, ...]
    file: str
    line: int
    method_line: int | None = None


@dataclass(slots=True)
class KeepalivedModel:
    instances: list[VrrpInstance] = field(default_factory=list)
    virtual_servers: list[VirtualServer] = field(default_factory=list)
    errors: list[KaError] = field(default_factory=list)


def build_model(nodes: list[Node]) -> KeepalivedModel:
    model = KeepalivedModel()
    groups = {n.args[0]: n for n in nodes if n.keyword == "virtual_server_group" and n.args}
    for node in nodes:
        if node.keyword == "vrrp_instance":
            model.instances.append(_instance(node))
        elif node.keyword == "virtual_server":
            model.virtual_servers.append(_virtual_server(node, groups, model.errors))
    return model


def _instance(node: Node) -> VrrpInstance:
    iface = node.value("interface")
    vrid = node.value("virtual_router_id")
    auth = next(iter(node.find("authentication")), None)
    auth_pass = auth.value("auth_pass") if auth else None
    vips = [Vip(ip, c.file, c.line) for block in node.find("virtual_ipaddress")
            for c in block.children or [] if (ip := _interface(c.keyword)) is not None]
    return VrrpInstance(node.args[0] if node.args else "?", iface.args[0] if iface and iface.args else None,
                        vrid.args[0] if vrid and vrid.args else None,
                        auth_pass.args[0] if auth_pass and auth_pass.args else None,
                        auth_pass.line if auth_pass else None, tuple(vips), node.file, node.line)


def _interface(text: str) -> ipaddress.IPv4Interface | ipaddress.IPv6Interface | None:
    try:
        return ipaddress.ip_interface(text)
    except ValueError:
        return None


def _virtual_server(node: Node, groups: dict[str, Node], errors: list[KaError]) -> VirtualServer:
    args = node.args
    endpoints: list[tuple[str, str | None]] = []
    if args[:1] == ["group"] and len(args) > 1:
        group = groups.get(args[1])
        if group is None:
            errors.append(KaError(node.file, node.line, f"virtual_server group {args[1]} is not defined"))
        for entry in (group.children or []) if group else []:
            if entry.keyword != "fwmark":
                endpoints.append((entry.keyword, entry.args[0] if entry.args else None))
    elif args and args[0] != "fwmark":
        endpoints.append((args[0], args[1] if len(args) > 1 else None))
    method_node = node.value("lvs_method") or node.value("lb_kind")
    method = method_node.args[0].upper() if method_node and method_node.args else "NAT"
    if method not in LVS_METHODS:
        errors.append(KaError(node.file, method_node.line if method_node else node.line,
                              f"unknown forwarding method {method!r} (NAT, DR or TUN)"))
    reals = tuple(_real_server(r) for r in node.find("real_server"))
    return VirtualServer(" ".join(args), tuple(endpoints), method, reals, node.file, node.line,
                         method_node.line if method_node else None)


def _real_server(node: Node) -> RealServer:
    checked = any(c.keyword in CHECKERS for c in node.children or [])
    return RealServer(node.args[0] if node.args else "?", node.args[1] if len(node.args) > 1 else None,
                      checked, node.file, node.line)


def expand_range(text: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """'192.0.2.20-29' -> the ten addresses; a plain address -> [it]; garbage -> []."""
    base, dash, last = text.partition("-")
    try:
        first = ipaddress.ip_address(base)
    except ValueError:
        return []
    if not dash:
        return [first]
    if first.version != 4 or not last.isdigit():
        return [first]
    start, stop = int(str(first).rsplit(".", 1)[1]), min(int(last), 255)
    return [first + i for i in range(0, max(stop - start, 0) + 1)]
