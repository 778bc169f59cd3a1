"""TLS facts of a server: days until its certificate expires, whether the chain verifies and
whether the name matches. An invalid certificate is still read (without verification) so its
expiry is known even when it is the problem."""

from __future__ import annotations

import asyncio
import datetime as dt
import ssl
import time

from .model import Tls

NAME_MISMATCH = (62, 64)  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH


def verifying_context(cafile: str | None = None) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=cafile)


async def _peer_cert(host: str, port: int, server_name: str, context: ssl.SSLContext,
                     timeout: float) -> tuple[bytes, str | None]:
    """(DER certificate, its notAfter as the ssl module reports it for a verified peer, else None)."""
    async with asyncio.timeout(timeout):
        _, writer = await asyncio.open_connection(host, port, ssl=context, server_hostname=server_name)
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        decoded = ssl_object.getpeercert() if ssl_object is not None else None
    finally:
        writer.close()
    if not der:
        raise ssl.SSLError("the server sent no certificate")
    not_after = decoded.get("notAfter") if decoded else None
    return bytes(der), not_after if isinstance(not_after, str) else None


def days_until(not_after: str, now: float | None = None) -> float:
    """From the ssl module's 'Jun  1 12:00:00 2027 GMT' (a verified peer): no X.509 parser needed."""
    return (ssl.cert_time_to_seconds(not_after) - (time.time() if now is None else now)) / 86400.0


def days_left(der: bytes, now: dt.datetime | None = None) -> float:
    """From the DER certificate of a peer that did not verify (cryptography costs ~8 MB resident,
    so it is loaded only then)."""
    from cryptography import x509

    certificate = x509.load_der_x509_certificate(der)
    now = now or dt.datetime.now(dt.UTC)
    return (certificate.not_valid_after_utc - now).total_seconds() / 86400.0


async def tls_facts(host: str, port: int, server_name: str, timeout: float, cafile: str | None = None) -> Tls:
    chain_valid: bool | None = True
    name_match: bool | None = True
    problem: str | None = None
    try:
        der, not_after = await _peer_cert(host, port, server_name, verifying_context(cafile), timeout)
    except ssl.SSLCertVerificationError as err:
        if err.verify_code in NAME_MISMATCH:
            chain_valid, name_match = True, False
        else:
            chain_valid, name_match = False, None
        problem = err.verify_message or str(err)
        unverified = ssl.create_default_context()
        unverified.check_hostname = False
        unverified.verify_mode = ssl.CERT_NONE
        try:
            der, not_after = await _peer_cert(host, port, server_name, unverified, timeout)
        except (OSError, TimeoutError, ssl.SSLError):
            return Tls(None, chain_valid, name_match, problem)
    except (OSError, TimeoutError, ssl.SSLError) as err:
        return Tls(None, None, None, str(err) or type(err).__name__)
    try:
        days = days_until(not_after) if not_after else days_left(der)
        return Tls(days, chain_valid, name_match, problem)
    except ValueError as err:  # a certificate cryptography cannot read
        return Tls(None, chain_valid, name_match, f"unreadable certificate: {err}")
