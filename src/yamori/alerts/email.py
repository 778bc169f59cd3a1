"""Email over SMTP with the standard library (smtplib runs in a worker thread)."""

from __future__ import annotations

import asyncio
import os
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from ..config.alerts import EmailSettings
from . import messages
from .delivery import DeliveryError
from .messages import Notification

PASSWORD_ENV = "YAMORI_SMTP_PASSWORD"


class EmailNotifier:
    name = "email"

    def __init__(self, settings: EmailSettings) -> None:
        self.settings = settings

    def describe(self) -> str:
        s = self.settings
        return f"email to {', '.join(s.to)} via {s.host}:{s.port} ({s.security})"

    async def send(self, note: Notification) -> None:
        await asyncio.to_thread(self.send_blocking, note)

    def send_blocking(self, note: Notification) -> None:
        mail = compose(self.settings, note)
        where = f"SMTP {self.settings.host}:{self.settings.port}"
        try:
            with self._connect() as smtp:
                self._login(smtp)
                # Partly refused recipients still count as delivered: a retry would send the
                # same mail again to everyone who did get it.
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as err:
            raise DeliveryError(f"{where} refused every recipient: {_refusals(err.recipients)}") from err
        except smtplib.SMTPResponseException as err:
            text = err.smtp_error.decode("utf-8", "replace") if isinstance(err.smtp_error, bytes) else err.smtp_error
            raise DeliveryError(f"{where} answered {err.smtp_code} {text}") from err
        except ssl.SSLError as err:
            raise DeliveryError(f"{where}: TLS failed: {err.reason or err}") from err
        except (OSError, smtplib.SMTPException) as err:
            raise DeliveryError(f"{where}: {_os_reason(err)}") from err

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        # smtplib's default EHLO name is socket.getfqdn(): a reverse lookup that waits for
        # DNS (seconds to minutes when the resolver is down, the very time alerts matter)
        helo = s.helo or socket.gethostname()
        if s.security == "ssl":
            return smtplib.SMTP_SSL(s.host, s.port, local_hostname=helo, timeout=s.timeout, context=self._tls())
        smtp = smtplib.SMTP(s.host, s.port, local_hostname=helo, timeout=s.timeout)
        if s.security == "starttls":
            try:
                smtp.starttls(context=self._tls())
            except BaseException:
                smtp.close()
                raise
        return smtp

    def _login(self, smtp: smtplib.SMTP) -> None:
        if not self.settings.username:
            return
        password = os.environ.get(PASSWORD_ENV, "")
        if not password:
            raise DeliveryError(f"alerts.email.username is set but {PASSWORD_ENV} is empty")
        smtp.login(self.settings.username, password)

    def _tls(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.settings.ca_file or None)
        if not self.settings.verify_tls:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context


def compose(settings: EmailSettings, note: Notification) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = settings.sender
    mail["To"] = ", ".join(settings.to)
    mail["Subject"] = messages.email_subject(note)
    mail["Date"] = formatdate(note.time, localtime=True)
    mail["Message-ID"] = note.message_id
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to an alert
    mail["X-Yamori-Rule"] = messages.clean(note.rule, 200)
    mail["X-Yamori-State"] = note.state.label
    mail.set_content(messages.body(note), charset="utf-8")
    return mail


def _refusals(recipients: dict[str, tuple[int, bytes]]) -> str:
    return "; ".join(f"{rcpt}: {code} {text.decode('utf-8', 'replace')}" for rcpt, (code, text) in recipients.items())


def _os_reason(err: BaseException) -> str:
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__
