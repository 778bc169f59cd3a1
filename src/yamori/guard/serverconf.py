"""The server's own log settings, asked once at start: `log_line_prefix` and `log_timezone`
(so the guard needs no prefix in its config when it may connect to the server)."""

from __future__ import annotations

from ..config.model import Settings


def server_log_settings(settings: Settings, timeout: int = 3) -> tuple[str | None, str | None]:
    """(log_line_prefix, log_timezone) of the first configured server; (None, None) if unknown."""
    if not settings.postgres.servers:
        return None, None
    try:
        import psycopg

        with psycopg.connect(settings.postgres.servers[0].dsn, connect_timeout=timeout, autocommit=True) as conn:
            prefix = conn.execute("SHOW log_line_prefix").fetchone()
            zone = conn.execute("SHOW log_timezone").fetchone()
    except Exception:  # any failure (down, auth, driver): fall back to guessing from the log itself
        return None, None
    return (str(prefix[0]) if prefix else None), (str(zone[0]) if zone else None)
