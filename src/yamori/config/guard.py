"""[guard]: the PostgreSQL access guard (issue: auth failures, classification, bans)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from .types import Duration, Section

# Every log_line_prefix escape of PostgreSQL 9.6 to 18 (besides %q and %%); postgres.log.prefix
# compiles exactly these (a test keeps the two in step).
PREFIX_ESCAPES = frozenset("audrhLbpPtmnieclsvxQ")


class GuardSettings(Section):
    enabled: bool = Field(True, description="run the guard when logs are found")
    logs: list[str] = Field(
        default_factory=lambda: ["/var/log/postgresql/postgresql-*.log*"],
        description="files or globs; rotated names included",
    )
    log_format: Literal["auto", "stderr", "csvlog", "jsonlog", "syslog"] = Field(
        "auto", description="auto | stderr | csvlog | jsonlog | syslog (a syslog file with the server's lines)")
    syslog_ident: str = Field("postgres", min_length=1, max_length=64, pattern=r"^[^\s\[\]:]+$",
                              description="the server's syslog_ident: only lines of this program are read "
                                          "from a syslog file")
    journal: bool = Field(False, description="also read the server's records from the systemd journal "
                                             "(journalctl -o json --follow, SYSLOG_IDENTIFIER = syslog_ident; "
                                             "the cursor is kept in state_dir/journal.cursor)")
    journalctl: list[str] = Field(default_factory=lambda: ["journalctl"], min_length=1,
                                  description="the journalctl command (argv prefix), e.g. with --directory=")
    log_line_prefix: str = Field(
        "", description="default: read from the server when it can be, else Debian's '%m [%p] %q%u@%d '")
    ban: bool = Field(False, description="report only until switched on")
    max_failures: int = Field(5, ge=1, description="internet sources are banned after this many failures")
    window: Duration = Field(600.0, description="... within this window")
    ban_time: Duration = Field(3600.0, description="first ban length; repeat offenders get longer bans")
    max_ban_time: Duration = Field(7 * 86400.0, description="longest ban")
    set_size: int = Field(65536, ge=1, description="cap on banned addresses per family")
    table: str = Field("yamori", description="nftables table (inet family) holding the ban sets")
    backlog: Duration = Field(86400.0, description="on first start, read records up to this age")
    languages: list[str] = Field(default_factory=lambda: ["en", "ja"],
                                 description="lc_messages languages to recognise (catalogs: postgres-NN.mo)")
    log_timezone: str = Field("", description="the server's log_timezone, to read zone abbreviations; '' = guess")
    poll_interval: Duration = Field(0.5, description="how often the log files are checked for new lines")
    nft: list[str] = Field(default_factory=lambda: ["nft"], description="the nft command (argv prefix)")
    max_sources: int = Field(100_000, ge=1000, description="sources remembered for counting (LRU)")

    @field_validator("log_line_prefix")
    @classmethod
    def _known_escapes(cls, value: str) -> str:
        """The reader compiles the prefix at start: an escape it does not know is an error now."""
        unknown = sorted(set(re.findall(r"%-?\d*([^%q])", value.replace("%%", ""))) - PREFIX_ESCAPES)
        if unknown:
            raise ValueError(f"unknown escape {', '.join('%' + e for e in unknown)} in {value!r} "
                             "(PostgreSQL's log_line_prefix escapes: %a %u %d %r %h %L %b %p %P %t %m %n %i "
                             "%e %c %l %s %v %x %Q %q %%)")
        return value
