"""pg_hba.conf: every rule with its file:line, parsed the way PostgreSQL 16 does.

`parse_hba(text, filename)` is pure: it returns rules, include directives and errors in file
order. `load_hba(path)` is the thin reader: it follows `include`, `include_if_exists`,
`include_dir` (relative to the including file, PG 16) and expands `@file` lists.
The server's own `pg_hba_file_rules` view is the test oracle for this module.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ...records import ParseProblem

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

CONNECTION_TYPES = ("local", "host", "hostssl", "hostnossl", "hostgssenc", "hostnogssenc")
INCLUDE_KINDS = ("include", "include_if_exists", "include_dir")
METHODS = ("trust", "reject", "scram-sha-256", "md5", "password", "gss", "sspi", "ident", "peer",
           "pam", "ldap", "radius", "cert")
_METHOD_OPTIONS = {
    "map": ("ident", "peer", "gss", "sspi", "cert"), "pamservice": ("pam",), "pam_use_hostname": ("pam",),
    "include_realm": ("gss", "sspi"), "compat_realm": ("sspi",), "upn_username": ("sspi",),
    "krb_realm": ("gss", "sspi"), "radiusservers": ("radius",), "radiussecrets": ("radius",),
    "radiusidentifiers": ("radius",), "radiusports": ("radius",), "clientname": None, "clientcert": None,
    **{name: ("ldap",) for name in (
        "ldaptls", "ldapscheme", "ldapserver", "ldapport", "ldapbinddn", "ldapbindpasswd",
        "ldapsearchattribute", "ldapsearchfilter", "ldapbasedn", "ldapprefix", "ldapsuffix", "ldapurl")},
}
MAX_INCLUDE_DEPTH = 10
# Option values that are secrets: never copied into rule text (findings end up in mail).
_SECRET = re.compile(r'\b(ldapbindpasswd|radiussecrets)=("(?:[^"]|"")*"|\S+)')


class HbaSyntaxError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Token:
    text: str
    quoted: bool = False

    def is_keyword(self, *names: str) -> bool:
        """Keywords (all, sameuser, +group...) only count when written without quotes."""
        return not self.quoted and self.text in names

    @property
    def is_regex(self) -> bool:
        return self.text.startswith("/")

    @property
    def is_file_ref(self) -> bool:
        return not self.quoted and self.text.startswith("@")


@dataclass(frozen=True, slots=True)
class HbaRule:
    file: str
    line: int
    conn_type: str
    databases: tuple[Token, ...]
    users: tuple[Token, ...]
    method: str
    address: str | None = None          # as written: CIDR text, keyword or host name
    network: IPNetwork | None = None    # for IP addresses (host bits kept in `ip`)
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None
    mask: ipaddress.IPv4Address | ipaddress.IPv6Address | None = None  # as the server shows it
    address_kind: str | None = None     # cidr | all | samehost | samenet | hostname
    options: tuple[tuple[str, str], ...] = ()
    text: str = ""

    @property
    def location(self) -> str:
        return f"{self.file}:{self.line}"

    def option(self, name: str) -> str | None:
        return next((v for k, v in self.options if k == name), None)


@dataclass(frozen=True, slots=True)
class HbaInclude:
    file: str
    line: int
    kind: str
    target: str


@dataclass(slots=True)
class HbaFile:
    """The effective rule list after includes, plus every problem met on the way."""

    path: str
    rules: list[HbaRule] = field(default_factory=list)
    errors: list[ParseProblem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


Entry = HbaRule | HbaInclude | ParseProblem


# -- tokenizer -------------------------------------------------------------------------------

def logical_lines(text: str) -> list[tuple[int, str]]:
    """Physical lines joined on a trailing backslash; each keeps its first line number."""
    result: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.rstrip("\r")
        if not pending:
            start = number
        if line.endswith("\\"):
            pending.append(line[:-1])
            continue
        pending.append(line)
        result.append((start, "".join(pending)))
        pending = []
    if pending:
        result.append((start, "".join(pending)))
    return result


def tokenize_line(line: str) -> list[list[Token]]:
    """Fields of one logical line; each field is a comma list of tokens."""
    fields: list[list[Token]] = []
    pos, end = 0, len(line)
    current: list[Token] = []
    while pos < end:
        while pos < end and line[pos] in " \t":
            pos += 1
        if pos >= end or line[pos] == "#":
            break
        token, pos, comma = _next_token(line, pos)
        current.append(token)
        if not comma:
            fields.append(current)
            current = []
    if current:
        fields.append(current)
    return fields


def _next_token(line: str, pos: int) -> tuple[Token, int, bool]:
    chars: list[str] = []
    quoted = in_quote = False
    end = len(line)
    while pos < end:
        c = line[pos]
        if not in_quote and (c in " \t" or c == "#"):
            return Token("".join(chars), quoted), pos, False
        if not in_quote and c == ",":
            return Token("".join(chars), quoted), pos + 1, True
        if c == '"':
            if in_quote and pos + 1 < end and line[pos + 1] == '"':
                chars.append('"')   # "" inside quotes is a literal quote
                pos += 2
                continue
            in_quote, quoted = not in_quote, True
            pos += 1
            continue
        chars.append(c)
        pos += 1
    return Token("".join(chars), quoted), pos, False


# -- parser ----------------------------------------------------------------------------------

def parse_hba(text: str, filename: str = "pg_hba.conf") -> list[Entry]:
    entries: list[Entry] = []
    for number, line in logical_lines(text):
        fields = tokenize_line(line)
        if not fields:
            continue
        shown = _SECRET.sub(r"\1=***", " ".join(line.split()))
        try:
            entries.append(_parse_fields(fields, filename, number, shown))
        except HbaSyntaxError as err:
            entries.append(ParseProblem(filename, number, str(err), text=shown))
    return entries


def _parse_fields(fields: list[list[Token]], filename: str, number: int, text: str) -> Entry:
    first = fields[0]
    if len(first) > 1:
        raise HbaSyntaxError("multiple values specified for connection type")
    kind = first[0].text
    if kind in INCLUDE_KINDS and not first[0].quoted:
        if len(fields) != 2 or len(fields[1]) != 1:
            raise HbaSyntaxError(f'invalid syntax for "{kind}": expected exactly one file name')
        return HbaInclude(filename, number, kind, fields[1][0].text)
    if kind not in CONNECTION_TYPES:
        raise HbaSyntaxError(f'invalid connection type "{kind}"')
    rest = fields[1:]
    if not rest:
        raise HbaSyntaxError("end-of-line before database specification")
    databases = tuple(rest.pop(0))
    if not rest:
        raise HbaSyntaxError("end-of-line before role specification")
    users = tuple(rest.pop(0))
    rule = HbaRule(filename, number, kind, databases, users, method="", text=text)
    if kind != "local":
        rule = _parse_address(rule, rest)
    if not rest:
        raise HbaSyntaxError("end-of-line before authentication method")
    method_field = rest.pop(0)
    if len(method_field) > 1:
        raise HbaSyntaxError("multiple values specified for authentication type")
    rule = replace(rule, method=_check_method(kind, method_field[0].text))
    return replace(rule, options=_parse_options(rule, [t for f in rest for t in f]))


def _parse_address(rule: HbaRule, rest: list[list[Token]]) -> HbaRule:
    if not rest:
        raise HbaSyntaxError("end-of-line before IP address specification")
    field_ = rest.pop(0)
    if len(field_) > 1:
        raise HbaSyntaxError("multiple values specified for host address")
    token = field_[0]
    if token.is_keyword("all", "samehost", "samenet"):
        return replace(rule, address=token.text, address_kind=token.text)
    text = token.text
    addr_text, slash, bits = text.partition("/")
    ip = _ip(addr_text)
    if ip is None:
        if slash:
            raise HbaSyntaxError(f'specifying both host name and CIDR mask is invalid: "{text}"')
        return replace(rule, address=text, address_kind="hostname")
    if slash:
        if not bits.isdigit() or int(bits) > ip.max_prefixlen:
            raise HbaSyntaxError(f'invalid CIDR mask in address "{text}"')
        network = ipaddress.ip_network(f"{ip}/{bits}", strict=False)
        mask = network.netmask
    else:
        mask = _netmask_field(ip, rest)
        network = ipaddress.ip_network(f"{ip}/{_leading_ones(mask)}", strict=False)
    return replace(rule, address=text, network=network, ip=ip, mask=mask, address_kind="cidr")


def _netmask_field(ip: ipaddress.IPv4Address | ipaddress.IPv6Address,
                   rest: list[list[Token]]) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if not rest:
        raise HbaSyntaxError("end-of-line before netmask specification")
    field_ = rest.pop(0)
    if len(field_) > 1:
        raise HbaSyntaxError("multiple values specified for netmask")
    mask = _ip(field_[0].text)
    if mask is None:
        raise HbaSyntaxError(f'invalid IP mask "{field_[0].text}": Name or service not known')
    if mask.version != ip.version:
        raise HbaSyntaxError("IP address and mask do not match")
    return mask


def _leading_ones(mask: ipaddress.IPv4Address | ipaddress.IPv6Address) -> int:
    bits = bin(int(mask))[2:].zfill(mask.max_prefixlen)
    # PostgreSQL accepts non-contiguous masks (255.0.255.0); the leading ones are what
    # containment checks use, which errs on the side of "wider", never "narrower".
    return bits.find("0") if "0" in bits else mask.max_prefixlen


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _check_method(kind: str, method: str) -> str:
    if method not in METHODS:
        raise HbaSyntaxError(f'invalid authentication method "{method}"')
    if kind == "local" and method == "ident":
        return "peer"    # PostgreSQL maps ident on local sockets to peer
    if method == "peer" and kind != "local":
        raise HbaSyntaxError("peer authentication is only supported on local sockets")
    if method == "cert" and kind != "hostssl":
        raise HbaSyntaxError("cert authentication is only supported on hostssl connections")
    return method


def _parse_options(rule: HbaRule, tokens: list[Token]) -> tuple[tuple[str, str], ...]:
    options: list[tuple[str, str]] = []
    for token in tokens:
        name, eq, value = token.text.partition("=")
        if not eq:
            raise HbaSyntaxError(f"authentication option not in name=value format: {token.text}")
        if name not in _METHOD_OPTIONS:
            raise HbaSyntaxError(f'unrecognized authentication option name: "{name}"')
        allowed = _METHOD_OPTIONS[name]
        if allowed is not None and rule.method not in allowed:
            methods = ", ".join(allowed)
            raise HbaSyntaxError(f'authentication option "{name}" is only valid for authentication methods {methods}')
        if name == "clientcert" and rule.conn_type != "hostssl":
            raise HbaSyntaxError('clientcert can only be configured for "hostssl" rows')
        if name == "clientcert" and rule.method == "cert" and value != "verify-full":
            raise HbaSyntaxError('clientcert can only be set to "verify-full" when using "cert" authentication')
        options.append((name, value))
    _check_required(rule.method, {k for k, _ in options})
    if rule.method == "cert" and not any(k == "clientcert" for k, _ in options):
        options.append(("clientcert", "verify-full"))   # implied by cert, as the server shows it
    return tuple(options)


def _check_required(method: str, names: set[str]) -> None:
    if method == "ldap" and not names & {"ldapbasedn", "ldapprefix", "ldapsuffix", "ldapurl"}:
        raise HbaSyntaxError('authentication method "ldap" requires argument "ldapbasedn", '
                             '"ldapprefix", or "ldapsuffix" to be set')
    if method == "ldap" and not names & {"ldapserver", "ldapurl"}:
        raise HbaSyntaxError('authentication method "ldap" requires argument "ldapserver" to be set')
    if method == "radius":
        for needed in ("radiusservers", "radiussecrets"):
            if needed not in names:
                raise HbaSyntaxError(f'authentication method "radius" requires argument "{needed}" to be set')


# -- reader ----------------------------------------------------------------------------------

def load_hba(path: str | Path) -> HbaFile:
    """Read a pg_hba.conf and everything it includes, in the order PostgreSQL applies it."""
    result = HbaFile(str(path))
    _load_into(result, Path(path), None, 0)
    return result


def _load_into(result: HbaFile, path: Path, origin: HbaInclude | None, depth: int) -> None:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        if origin is None or origin.kind != "include_if_exists":
            where = (origin.file, origin.line) if origin else (str(path), 0)
            text = f"{origin.kind} {origin.target}" if origin else ""
            result.errors.append(ParseProblem(where[0], where[1], f'could not open file "{path}": {err.strerror}',
                                              text=text))
        return
    result.files.append(str(path))
    for entry in parse_hba(text, str(path)):
        if isinstance(entry, ParseProblem):
            result.errors.append(entry)
        elif isinstance(entry, HbaInclude):
            _follow(result, entry, path.parent, depth)
        else:
            _expand_rule(result, entry, path.parent)


def _follow(result: HbaFile, inc: HbaInclude, base: Path, depth: int) -> None:
    if depth >= MAX_INCLUDE_DEPTH:
        result.errors.append(ParseProblem(inc.file, inc.line, f'could not open file "{inc.target}": '
                                                               "maximum nesting depth exceeded"))
        return
    target = base / inc.target
    if inc.kind != "include_dir":
        _load_into(result, target, inc, depth + 1)
        return
    if not target.is_dir():
        result.errors.append(ParseProblem(inc.file, inc.line, f'could not open directory "{target}"',
                                          text=f"{inc.kind} {inc.target}"))
        return
    for child in sorted(p for p in target.iterdir() if p.name.endswith(".conf") and not p.name.startswith(".")):
        _load_into(result, child, inc, depth + 1)


def _expand_rule(result: HbaFile, rule: HbaRule, base: Path) -> None:
    try:
        databases = _expand_tokens(rule.databases, base, 0)
        users = _expand_tokens(rule.users, base, 0)
    except HbaSyntaxError as err:
        result.errors.append(ParseProblem(rule.file, rule.line, str(err), text=rule.text))
        return
    result.rules.append(replace(rule, databases=databases, users=users))


def _expand_tokens(tokens: tuple[Token, ...], base: Path, depth: int) -> tuple[Token, ...]:
    """`@file` becomes the names listed in that file (relative to the including file)."""
    out: list[Token] = []
    for token in tokens:
        if not token.is_file_ref:
            out.append(token)
            continue
        target = base / token.text[1:]
        try:
            text = target.read_text(encoding="utf-8", errors="replace")
        except OSError as err:
            raise HbaSyntaxError(f'could not open secondary authentication file "{token.text}" as '
                                 f'"{target}": {err.strerror}') from err
        inner = tuple(t for _, line in logical_lines(text) for f in tokenize_line(line) for t in f)
        if depth < MAX_INCLUDE_DEPTH:
            out.extend(_expand_tokens(inner, target.parent, depth + 1))
    return tuple(out)
