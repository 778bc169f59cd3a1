"""Secrets never shown: one place that knows what a secret looks like.

Used by `config show` (the whole config), the notifiers' descriptions and errors (which reach
/healthz, the status page and the alert database) and the alert database's writes (a last
line of defence: any URL or password=… in a stored error is redacted). A leaf module: it
imports nothing from yamori.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

MASK = "***"
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s\"'<>]+", re.IGNORECASE)
_KV_PASSWORD = re.compile(r"""(\bpassword\s*=\s*)('(?:\\.|[^'\\])*'|[^\s'"&;]+)""", re.IGNORECASE)
_SECRET_KEYS = ("password", "secret", "token", "passphrase", "api_key", "apikey")


def redact_url(url: str) -> str:
    """https://user:pw@hooks.example.org/T0/B1/XYZ?k=v -> https://hooks.example.org/…

    The path and query of a webhook URL are often the secret itself; scheme and host are
    what an operator needs to recognise it."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return MASK
    if not parts.scheme or not host:
        return MASK
    if ":" in host:
        host = f"[{host}]"
    rest = "/…" if (parts.path.strip("/") or parts.query or parts.fragment) else ""
    return f"{parts.scheme}://{host}{port}{rest}"


def redact_dsn(dsn: str) -> str:
    """libpq conninfo or URI with its password replaced: `password=***`, `user:***@host`."""
    if not dsn:
        return dsn
    if "://" in dsn:
        try:
            parts = urlsplit(dsn)
        except ValueError:
            return MASK
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, _, hostpart = netloc.rpartition("@")
            if ":" in userinfo:
                userinfo = userinfo.split(":", 1)[0] + ":" + MASK
            netloc = f"{userinfo}@{hostpart}"
        query = _KV_PASSWORD.sub(lambda m: m.group(1) + MASK, parts.query)
        return parts._replace(netloc=netloc, query=query).geturl()
    return _KV_PASSWORD.sub(lambda m: m.group(1) + MASK, dsn)


def scrub(text: str) -> str:
    """Free text (an error message) with every URL reduced to its host and every password=… masked."""
    if not text:
        return text
    return _KV_PASSWORD.sub(lambda m: m.group(1) + MASK, _URL.sub(lambda m: _scrub_url(m.group(0)), text))


def mask_passwords(text: str) -> str:
    """Only password=… and URL user:password@ masked: for texts whose links must stay whole."""
    if not text:
        return text
    text = re.sub(r"(://[^\s/:@]+):[^\s/@]+@", lambda m: f"{m.group(1)}:{MASK}@", text)
    return _KV_PASSWORD.sub(lambda m: m.group(1) + MASK, text)


def _scrub_url(url: str) -> str:
    if url.lower().startswith(("postgres://", "postgresql://")):
        return redact_dsn(url)
    return redact_url(url)


def redact_config(data: Any, key: str = "") -> Any:
    """A config dump (model_dump(mode="json")) with every secret masked, by key name:
    *dsn -> password masked; url -> host only; headers -> values masked; *secret*, *password*,
    *token* -> *** (an empty value stays empty: it shows the secret is not set)."""
    lowered = key.lower()
    if isinstance(data, dict):
        if lowered == "headers":
            return {k: (MASK if v else v) for k, v in data.items()}
        return {k: redact_config(v, str(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [redact_config(v, key) for v in data]
    if not isinstance(data, str) or not data:
        return data
    if lowered.endswith("dsn"):
        return redact_dsn(data)
    if lowered == "url" or lowered.endswith("_url"):
        return redact_url(data)
    if lowered.endswith("_env"):
        return data  # the name of an environment variable, not its value
    if any(word in lowered for word in _SECRET_KEYS):
        return MASK
    return data
