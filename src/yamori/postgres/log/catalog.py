"""PostgreSQL's authentication-failure messages, in every language the guard reads.

The English msgids below are PostgreSQL's own format strings (9.6 to 18). Translations are data:
the server's own catalogs (`postgres-NN.mo`, read with stdlib gettext) are the source of truth,
and `auth_messages.json` beside this module carries the translations of versions that may not be
installed here (ja 13/15/18). Adding a language is adding its catalog, not code.
"""

from __future__ import annotations

import gettext
import glob
import json
import os
import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from ...records import ParseProblem

DATA_FILE = Path(__file__).with_name("auth_messages.json")
LOCALE_DIR = "/usr/share/locale"   # the default of `[agent] locale_dir`; callers pass the setting
MO_GLOB = "{lang}/LC_MESSAGES/postgres-*.mo"   # under the locale dir


@dataclass(frozen=True, slots=True)
class Spec:
    """One server message: `fields` names the printf arguments in msgid order."""

    kind: str
    msgid: str
    fields: tuple[str, ...] = ()


_NO_ENTRY = 'no pg_hba.conf entry for host "%s", user "%s", database "%s"'
_NO_ENTRY_REPL = 'no pg_hba.conf entry for replication connection from host "%s", user "%s"'
_REJECT = 'pg_hba.conf rejects connection for host "%s", user "%s", database "%s"'
_REJECT_REPL = 'pg_hba.conf rejects replication connection for host "%s", user "%s"'
_HUD = ("host", "user", "database")
_HUDE = ("host", "user", "database", "encryption")
_METHODS = ('"trust"', "Ident", "Peer", "GSSAPI", "SSPI", "PAM", "BSD", "LDAP", "certificate", "RADIUS",
            "OAuth bearer", "Kerberos 5")

# The failures, as the server logs them (FATAL, or LOG/COMMERROR for the protocol noise).
FAILURES: tuple[Spec, ...] = (
    Spec("no_hba_entry", _NO_ENTRY + ", %s", _HUDE),
    Spec("no_hba_entry", _NO_ENTRY, _HUD),                         # <= 11 built without SSL
    Spec("no_hba_entry", _NO_ENTRY_REPL + ", %s", ("host", "user", "encryption")),
    Spec("no_hba_entry", _NO_ENTRY_REPL, ("host", "user")),
    Spec("hba_reject", _REJECT + ", %s", _HUDE),
    Spec("hba_reject", _REJECT, _HUD),
    Spec("hba_reject", _REJECT_REPL + ", %s", ("host", "user", "encryption")),
    Spec("hba_reject", _REJECT_REPL, ("host", "user")),
    Spec("password_failed", 'password authentication failed for user "%s"', ("user",)),
    Spec("hba_reject", 'authentication failed for user "%s": host rejected', ("user",)),
    Spec("auth_failed", 'authentication failed for user "%s": invalid authentication method', ("user",)),
    *(Spec("auth_failed", f'{m} authentication failed for user "%s"', ("user",)) for m in _METHODS),
    Spec("auth_failed", "connection requires a valid client certificate"),
    Spec("role_missing", 'role "%s" does not exist', ("user",)),
    Spec("invalid_startup_packet", "invalid length of startup packet"),
    Spec("invalid_startup_packet", "incomplete startup packet"),
    Spec("unsupported_protocol", "unsupported frontend protocol %u.%u: server supports %u.0 to %u.%u"),
    Spec("unsupported_protocol", "unsupported frontend protocol %u.%u: server supports %u.%u to %u.%u"),
    Spec("ssl_failure", "could not accept SSL connection: %s", ("reason",)),
)

# DETAIL lines that say whether the role exists (True/False).
ROLE_DETAILS: tuple[tuple[str, bool], ...] = (
    ('Role "%s" does not exist.', False),
    ('Password does not match for user "%s".', True),
    ('User "%s" has no password assigned.', True),
    ('User "%s" has an expired password.', True),
    ('User "%s" has a password that cannot be used with MD5 authentication.', True),
    ('Password of user "%s" is in unrecognized format.', True),
    ('User "%s" does not have a valid SCRAM verifier.', True),
    ('User "%s" does not have a valid SCRAM secret.', True),
)

ENCRYPTIONS = ("SSL encryption", "GSS encryption", "no encryption", "SSL on", "SSL off")
CONN_RECEIVED = ("connection received: host=%s port=%s", "connection received: host=%s")
# the DETAIL line naming the pg_hba.conf rule a connection matched (PostgreSQL 15; 16 and later)
MATCHED = ('Connection matched pg_hba.conf line %d: "%s"', 'Connection matched file "%s" line %d: "%s"')
SEVERITIES = ("DEBUG", "LOG", "INFO", "NOTICE", "WARNING", "ERROR", "FATAL", "PANIC")
SECONDARY = ("DETAIL:  ", "HINT:  ", "QUERY:  ", "CONTEXT:  ", "LOCATION:  ", "STATEMENT:  ", "BACKTRACE:  ")
UNKNOWN = "[unknown]"
# Logged at LOG level (COMMERROR), not FATAL: a stderr scan looks for their text besides "FATAL".
LOGGED_AS_LOG = frozenset({"invalid_startup_packet", "ssl_failure"})
SQLSTATES = frozenset({"28000", "28P01", "08P01"})

ALL_MSGIDS: tuple[str, ...] = (
    *(s.msgid for s in FAILURES), *(d for d, _ in ROLE_DETAILS), *ENCRYPTIONS, *CONN_RECEIVED, *MATCHED,
    *SEVERITIES, *SECONDARY, UNKNOWN,
)


def _load_data() -> dict[str, dict[str, list[str]]]:
    data: dict[str, dict[str, list[str]]] = json.loads(DATA_FILE.read_text(encoding="utf-8"))["translations"]
    return data


@lru_cache(maxsize=16)
def _installed(lang: str, locale_dir: str) -> tuple[tuple[dict[str, str], ...], tuple[ParseProblem, ...]]:
    """What PostgreSQL's installed catalogs for `lang` (newest version first) translate of the
    messages read here (msgid -> msgstr; the rest of a catalog is not kept), and the broken ones."""
    found: list[dict[str, str]] = []
    problems: list[ParseProblem] = []
    for path in sorted(glob.glob(os.path.join(glob.escape(locale_dir), MO_GLOB.format(lang=lang))), reverse=True):
        try:
            with open(path, "rb") as f:
                mo = gettext.GNUTranslations(f)
            found.append({m: t for m in ALL_MSGIDS if (t := mo.gettext(m)) != m or m in SEVERITIES})
        except (OSError, ValueError, struct.error, UnicodeDecodeError) as err:
            # a broken catalog must not stop the guard: it goes on without it, and says so
            reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err) or type(err).__name__
            problems.append(ParseProblem(path, None, f"broken message catalog, not used: {reason}"))
    return tuple(found), tuple(problems)


def catalog_problems(langs: tuple[str, ...], locale_dir: str = LOCALE_DIR) -> list[ParseProblem]:
    """The installed message catalogs of `langs` that could not be read (each file once)."""
    return [p for lang in langs if lang != "en" for p in _installed(lang, locale_dir)[1]]


@lru_cache(maxsize=16)
def translations(lang: str, locale_dir: str = LOCALE_DIR) -> dict[str, tuple[str, ...]]:
    """msgid -> every msgstr seen for `lang`: installed catalogs first, then the packaged data."""
    if lang == "en":
        return {m: (m,) for m in ALL_MSGIDS}
    found: dict[str, list[str]] = {m: [] for m in ALL_MSGIDS}
    for installed in _installed(lang, locale_dir)[0]:
        for msgid, text in installed.items():
            found[msgid].append(text)
    for msgid, texts in _load_data().get(lang, {}).items():
        if msgid in found:
            found[msgid].extend(texts)
    return {m: tuple(dict.fromkeys(v)) for m, v in found.items() if v}


def available_languages(locale_dir: str = LOCALE_DIR) -> list[str]:
    langs = {"en", *_load_data()}
    langs.update(Path(p).parts[-3] for p in glob.glob(os.path.join(glob.escape(locale_dir), MO_GLOB.format(lang="*"))))
    return sorted(langs)


# -- templates to regular expressions ------------------------------------------------------

_CONV = re.compile(r"%(?:(\d+)\$)?[-+ #0]*(?:\d+|\*)?(?:\.(?:\d+|\*))?(?:l|ll|h|z)?([sduixcm%])")
_FREE = {"user", "database", "reason"}


@dataclass(frozen=True, slots=True)
class Template:
    """One translated message as two regexes: every attacker-chosen field lazy, then greedy.

    Both are tried; when they disagree, the text parses two ways (a name with quotes in it)."""

    kind: str
    lang: str
    fields: tuple[str, ...]
    marker: str
    msgstr: str
    lazy_text: str
    greedy_text: str

    # Compiled on first use: the careful path needs them only for lines the fast lane declines,
    # and compiling all of them up front is a visible share of a short `guard scan`.
    @property
    def lazy(self) -> re.Pattern[str]:
        return _compiled(self.lazy_text)

    @property
    def greedy(self) -> re.Pattern[str]:
        return _compiled(self.greedy_text)


@lru_cache(maxsize=1024)
def _compiled(text: str) -> re.Pattern[str]:
    return re.compile(text, re.DOTALL)


def _compile(msgstr: str, fields: tuple[str, ...], encryptions: Iterable[str], greedy: bool) -> re.Pattern[str]:
    return re.compile(pattern_text(msgstr, fields, encryptions, greedy), re.DOTALL)


def pattern_text(msgstr: str, fields: tuple[str, ...], encryptions: Iterable[str], greedy: bool = False, *,
                 names: str | None = None, tag: str = "") -> str:
    """Regex text for a translated format string. `names` replaces the free-text pattern of the
    attacker-chosen fields (the scanner's fast lane uses a strict one); `tag` prefixes group names."""
    parts: list[str] = []
    seen: set[str] = set()
    pos = 0
    index = 0
    enc = "|".join(re.escape(e) for e in sorted(encryptions, key=len, reverse=True))
    for m in _CONV.finditer(msgstr):
        parts.append(re.escape(msgstr[pos:m.start()]))
        pos = m.end()
        conv = m.group(2)
        if conv == "%":
            parts.append("%")
            continue
        n = int(m.group(1)) - 1 if m.group(1) else index
        index += 1
        name = fields[n] if n < len(fields) else None
        if conv in "dui":
            parts.append(r"\d+")
        elif name is None or name in seen:
            parts.append("(?:.*)" if greedy else "(?:.*?)")
        elif name == "host":
            parts.append(rf'(?P<{tag}host>[^"\s]*)')
        elif name == "port":
            parts.append(rf"(?P<{tag}port>\d+)")
        elif name == "encryption":
            parts.append(f"(?P<{tag}encryption>{enc})")
        elif names is not None and name in ("user", "database"):
            parts.append(f"(?P<{tag}{name}>{names})")
        else:
            parts.append(f"(?P<{tag}{name}>.*)" if greedy else f"(?P<{tag}{name}>.*?)")
        if name:
            seen.add(name)
    parts.append(re.escape(msgstr[pos:]))
    return "".join(parts)


def literal_marker(msgstr: str) -> str:
    """The longest literal run of a format string: a cheap substring test before any regex."""
    pieces = _CONV.split(msgstr)[::3]
    return max(pieces, key=len).strip()


@dataclass(frozen=True, slots=True)
class Catalog:
    langs: tuple[str, ...]
    templates: tuple[Template, ...]
    details: tuple[tuple[re.Pattern[str], bool, str], ...]   # regex, role exists, marker
    encryption_names: dict[str, str]                         # translated -> English
    conn_received: tuple[tuple[re.Pattern[str], str], ...]   # regex with group host, marker
    severities: tuple[str, ...]
    secondary: tuple[str, ...]
    unknown: tuple[str, ...]
    markers: tuple[str, ...]                                 # substrings that flag a candidate line
    noise_markers: tuple[str, ...]                           # the non-FATAL failures' markers
    lang_of: dict[str, str]                                  # msgstr marker -> lang
    rules: tuple[re.Pattern[str], ...] = ()                  # `Connection matched` lines, group rule
    locale_dir: str = LOCALE_DIR                             # where the installed catalogs were read

    def match(self, message: str) -> list[tuple[Template, dict[str, str | None]]]:
        """Every (template, fields) parse of a message; more than one distinct parse = ambiguous."""
        out: list[tuple[Template, dict[str, str | None]]] = []
        for t in self.templates:
            if t.marker not in message:
                continue
            for rx in (t.lazy, t.greedy):
                m = rx.fullmatch(message)
                if m:
                    groups = m.groupdict()
                    if not any(g == groups and o is t for o, g in out):
                        out.append((t, groups))
        return out

    def matched_rule(self, detail: str) -> str | None:
        """The pg_hba.conf rule text of the last `Connection matched ...` line of a DETAIL (the
        server appends it after anything quoting a name, so only the last line is its own)."""
        for rx in self.rules:
            m = rx.search(detail)
            if m:
                return m.group("rule")
        return None

    def role_exists(self, detail: str) -> bool | None:
        for rx, exists, marker in self.details:
            if marker in detail and rx.search(detail):
                return exists
        return None


@lru_cache(maxsize=8)
def catalog(langs: tuple[str, ...] = ("en", "ja"), locale_dir: str = LOCALE_DIR) -> Catalog:
    templates: list[Template] = []
    details: list[tuple[re.Pattern[str], bool, str]] = []
    enc_names: dict[str, str] = {}
    conns: list[tuple[re.Pattern[str], str]] = []
    sev: list[str] = []
    sec: list[str] = []
    unknown: list[str] = []
    markers: list[str] = []
    noise: list[str] = []
    lang_of: dict[str, str] = {}
    rules: list[re.Pattern[str]] = []
    for lang in langs:
        tr = translations(lang, locale_dir)
        encs = [t for e in ENCRYPTIONS for t in tr.get(e, ())]
        for e in ENCRYPTIONS:
            for t in tr.get(e, ()):
                enc_names.setdefault(t, e)
        for spec in FAILURES:
            for msgstr in tr.get(spec.msgid, ()):
                marker = literal_marker(msgstr)
                templates.append(Template(spec.kind, lang, spec.fields, marker, msgstr,
                                          pattern_text(msgstr, spec.fields, encs, False),
                                          pattern_text(msgstr, spec.fields, encs, True)))
                markers.append(marker)
                if spec.kind in LOGGED_AS_LOG:
                    noise.append(marker)
                lang_of.setdefault(msgstr, lang)
        for msgid, exists in ROLE_DETAILS:
            for msgstr in tr.get(msgid, ()):
                details.append((_compile(msgstr, ("user",), (), True), exists, literal_marker(msgstr)))
        for msgid in CONN_RECEIVED:
            for msgstr in tr.get(msgid, ()):
                conns.append((_compile(msgstr, ("host", "port"), (), False), literal_marker(msgstr)))
        for msgid in MATCHED:
            for msgstr in tr.get(msgid, ()):
                rules.append(_rule_rx(msgstr))
        sev += [t for s in SEVERITIES for t in tr.get(s, (s,))]
        sec += [t for s in SECONDARY for t in tr.get(s, ())]
        unknown += list(tr.get(UNKNOWN, ()))
    # Specific templates before general ones: the replication variants and SSL suffixes first.
    templates.sort(key=lambda t: -len(t.lazy_text))
    return Catalog(tuple(langs), tuple(templates), tuple(details), enc_names, tuple(conns),
                   tuple(dict.fromkeys(sev)), tuple(dict.fromkeys(sec)), tuple(dict.fromkeys(unknown)),
                   _minimal_markers(markers), _shared_markers(_minimal_markers(noise)), lang_of,
                   tuple(dict.fromkeys(rules)), locale_dir)


def _rule_rx(msgstr: str) -> re.Pattern[str]:
    """A `Connection matched` msgstr as a regex anchored at the DETAIL's last line; its last %s
    (the rule) is the group `rule`."""
    parts = re.split(r"(%(?:\d+\$)?[sd])", msgstr)
    convs = [i for i, p in enumerate(parts) if p.startswith("%")]
    out = []
    for i, p in enumerate(parts):
        if not p.startswith("%"):
            out.append(re.escape(p))
        elif p.endswith("d"):
            out.append(r"\d+")
        else:
            out.append("(?P<rule>[^\n]*)" if i == convs[-1] else "[^\n]*")
    return re.compile(r"(?:\A|\n)" + "".join(out) + r"\Z")


def hba_rule_source(rule: str) -> tuple[str | None, str | None]:
    """(one address, network CIDR) named by a pg_hba.conf rule's address field: a /32 or /128
    is one host; a wider network is a network; names, `all`, `samehost`, `samenet`: nothing."""
    import ipaddress

    tokens = rule.split()
    if len(tokens) < 5 or not tokens[0].startswith("host"):
        return None, None
    addr = tokens[3]
    try:
        if "/" in addr:
            net = ipaddress.ip_network(addr, strict=False)
        elif len(tokens) >= 6 and re.fullmatch(r"[\d.]+|[0-9a-fA-F:]+", tokens[4]) and tokens[4].count(".") + \
                tokens[4].count(":") >= 2:
            net = ipaddress.ip_network(f"{addr}/{tokens[4]}", strict=False)
        else:
            return None, None
    except ValueError:
        return None, None
    if net.num_addresses == 1:
        return str(net.network_address), None
    return None, str(net)


def _shared_markers(markers: tuple[str, ...], least: int = 6) -> tuple[str, ...]:
    """Merge markers that share a long common run ('incomplete startup packet' and 'invalid length
    of startup packet' -> 'startup packet'): each marker is one more pass over the data."""
    from difflib import SequenceMatcher

    out = list(markers)
    merged = True
    while merged:
        merged = False
        for i in range(len(out)):
            for j in range(i + 1, len(out)):
                a, b = out[i], out[j]
                m = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
                if m.size >= least:
                    common = a[m.a:m.a + m.size].strip()
                    out = [x for k, x in enumerate(out) if k not in (i, j)] + [common]
                    merged = True
                    break
            if merged:
                break
    return tuple(out)


def _minimal_markers(markers: list[str]) -> tuple[str, ...]:
    """Drop every marker that contains a shorter one: fewer substring passes over the data."""
    uniq = sorted(set(m for m in markers if m), key=len)
    kept: list[str] = []
    for m in uniq:
        if not any(k in m for k in kept):
            kept.append(m)
    return tuple(kept)
