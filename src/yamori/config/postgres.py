"""[postgres]: servers to watch, pgpool, backups, failover (issue: replication and failover)."""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from .types import Duration, Section

# Probe names are postgres.<server>, postgres.pgpool and postgres.backups: keep them apart.
RESERVED_NAMES = frozenset({"pgpool", "backups"})


class ServerEntry(Section):
    name: str = Field(description="a short name, e.g. db1")
    dsn: str = Field(description="libpq conninfo; passwords from .pgpass or PGPASSWORD, never required here")
    address: str | None = Field(None, description="the address DNS should point at when this server is primary "
                                                   "(default: host= from dsn)")

    @field_validator("name")
    @classmethod
    def _check_name(cls, value: str) -> str:
        if not value or not all(c.isalnum() or c in "-_" for c in value):
            raise ValueError("use letters, digits, '-' and '_' only, e.g. db1")
        if value in RESERVED_NAMES:
            raise ValueError(f"'{value}' is reserved (probe names postgres.pgpool / postgres.backups)")
        return value


class PgpoolSettings(Section):
    dsn: str = Field(description="libpq conninfo of pgpool itself, e.g. host=127.0.0.1 port=9999 user=yamori")
    pcp_host: str | None = Field(None, description="PCP host; set to let failover detach the old primary")
    pcp_port: int = Field(9898, description="PCP port")
    pcp_user: str = Field("pgpool", description="PCP user; the password comes from PCPPASSFILE / ~/.pcppass")


class BackupEntry(Section):
    name: str = Field(description="what this backup is, e.g. nightly-dump or wal-archive")
    dir: str = Field(description="directory holding the dumps, base backups or archived WAL segments")
    pattern: str = Field("*", description="glob of the files that count, e.g. *.dump")
    rpo: Duration = Field(26 * 3600.0, description="recovery point objective: newest file older than this = CRITICAL")
    min_size_ratio: float = Field(0.5, description="WARNING when the newest file is smaller than this fraction "
                                                   "of the previous one")
    restore_dsn: str | None = Field(None, description="set to test-restore the newest dump (pg_dump custom, "
                                    "directory or plain .sql[.gz]) into a scratch database on this server")
    restore_interval: Duration = Field(7 * 86400.0, description="how often the agent runs the restore test")
    restore_test: bool = Field(False, description="test-restore the newest dump into a throwaway cluster run by "
                               "restore_user (the safe way: nothing in the dump runs as yamori or on a real server)")
    restore_user: str = Field("nobody", description="unprivileged OS user running the throwaway cluster "
                              "(used when yamori runs as root)")
    restore_max_bytes: int = Field(10 * 2**30, gt=0, description="stop the restore test when the throwaway "
                                   "cluster's data grows beyond this many bytes")
    restore_timeout: Duration = Field(3600.0, description="stop the restore test after this long")


class DnsSettings(Section):
    server: str = Field(description="address of the authoritative DNS server accepting RFC 2136 updates")
    port: int = Field(53, description="its port")
    zone: str = Field(description="zone, e.g. example.org.")
    record: str = Field(description="name inside the zone the application connects to, e.g. db")
    ttl: int = Field(60, description="TTL of the record written at failover")
    key_name: str | None = Field(None, description="TSIG key name")
    key_secret_env: str | None = Field(None, description="environment variable holding the TSIG secret (base64)")
    key_secret: str | None = Field(None, description="TSIG secret (base64); prefer key_secret_env")
    key_algorithm: str = Field("hmac-sha256", description="TSIG algorithm")


class FailoverSettings(Section):
    max_lag_bytes: int = Field(16 * 2**20, ge=0, description="failover refuses (unless --accept-loss) when the "
                               "target standby is more WAL bytes than this behind the old primary")
    max_replay_age: Duration = Field(600.0, description="failover refuses (unless --accept-loss) when the "
                                     "target standby last replayed longer ago than this, e.g. 10m")


class Thresholds(Section):
    lag_warning_bytes: int = Field(16 * 2**20, description="replay lag WARNING")
    lag_critical_bytes: int = Field(256 * 2**20, description="replay lag CRITICAL")
    lag_warning_seconds: Duration = Field(60.0, description="replay lag (time) WARNING")
    lag_critical_seconds: Duration = Field(600.0, description="replay lag (time) CRITICAL")
    slot_retained_warning_bytes: int = Field(1 * 2**30, description="WAL retained by an inactive slot: WARNING above")
    connections_warning_percent: float = Field(80.0, description="connections vs max_connections WARNING")
    cache_hit_warning: float = Field(0.95, description="buffer cache hit ratio below this = working set "
                                                       "no longer fits in memory")
    long_running: Duration = Field(300.0, description="a statement running longer than this is reported")
    idle_in_transaction: Duration = Field(60.0, description="a session idle in transaction longer than this")
    xid_age_warning: int = Field(500_000_000, description="datfrozenxid age WARNING (wraparound at ~2.1e9)")
    xid_age_critical: int = Field(1_200_000_000, description="datfrozenxid age CRITICAL")


class PostgresSettings(Section):
    servers: list[ServerEntry] = Field(default_factory=list)
    interval: Duration = Field(60.0, description="how often each server is probed")
    connect_timeout: int = Field(5, description="libpq connect_timeout in seconds")
    expect_standbys: list[str] = Field(default_factory=list, description="application_name of each standby "
                                       "the primary must see streaming (missing = CRITICAL)")
    thresholds: Thresholds = Field(default_factory=Thresholds)
    pgpool: PgpoolSettings | None = None
    backups: list[BackupEntry] = Field(default_factory=list)
    dns: DnsSettings | None = None
    failover: FailoverSettings = Field(default_factory=FailoverSettings)

    @model_validator(mode="after")
    def _unique_names(self) -> PostgresSettings:
        names = [s.name for s in self.servers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"server names must be unique: {', '.join(duplicates)}")
        return self
