"""The server's own log settings, asked once at start: `log_line_prefix` and `log_timezone`
(so the guard needs no prefix in its config when it may connect to the server)."""

from __future__ import annotations

from ..config.model import Settings


def server_log_settings(settings: Settings, timeout: int = 3) -> tuple[str | None, str | None]:
    """(log_line_prefix, log_timezone) of the first configured server; (None, None) if unknown
    (`server_log_settings_why` says why)."""
    prefix, zone, _ = server_log_settings_why(settings, timeout)
    return prefix, zone


def server_log_settings_why(settings: Settings, timeout: int = 3) -> tuple[str | None, str | None, str | None]:
    """(log_line_prefix, log_timezone, why they are unknown): never a silent fallback."""
    if not settings.postgres.servers:
        return None, None, "no [[postgres.servers]] configured"
    server = settings.postgres.servers[0]
    try:
        import psycopg

        with psycopg.connect(server.dsn, connect_timeout=timeout, autocommit=True) as conn:
            prefix = conn.execute("SHOW log_line_prefix").fetchone()
            zone = conn.execute("SHOW log_timezone").fetchone()
    except ImportError as err:
        return None, None, f"psycopg cannot be imported: {err}"
    except Exception as err:  # down, auth, driver: the reason is reported, the log's own head is used
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        return None, None, f"cannot ask server {server.name!r} for log_line_prefix: {first}"
    return (str(prefix[0]) if prefix else None), (str(zone[0]) if zone else None), None
