"""Email: rendering from `templates/emails/<name>/` and sending over SMTP with aiosmtplib.

Every email of the hub (sign-in, invitations, later campaign notifications) goes through
:class:`Mailer`, so transport security, timeouts and the sender are configured once.
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import aiosmtplib

from hub import i18n
from hub.config import Settings
from hub.templating import templates

log = logging.getLogger("hub.mail")


class PermanentMailError(Exception):
    """The server refused the message for good (5xx); retrying will not help."""


class TemporaryMailError(Exception):
    """The server could not be reached or answered 4xx; try again later."""


def render_email(
    name: str,
    *,
    to: str,
    language: str,
    context: dict[str, Any],
    sender: str,
    message_id: str | None = None,
) -> EmailMessage:
    """Render `templates/emails/<name>/` in ``language`` into a multipart text + HTML message."""
    env = templates.env
    with i18n.use_language(language):
        ctx = {**context, "language": i18n.current_language()}
        subject = env.get_template(f"emails/{name}/subject.txt").render(ctx).strip()
        text = env.get_template(f"emails/{name}/body.txt").render(ctx)
        html = env.get_template(f"emails/{name}/body.html").render(ctx)
    message = EmailMessage()
    message["Subject"] = " ".join(subject.split())
    message["From"] = sender
    message["To"] = to
    message["Message-ID"] = message_id or make_msgid(domain="partner-hub")
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    message["Content-Language"] = language  # after set_content(), which drops Content-* headers
    return message


class Mailer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def render(
        self,
        name: str,
        *,
        to: str,
        language: str,
        context: dict[str, Any],
        message_id: str | None = None,
    ) -> EmailMessage:
        return render_email(
            name,
            to=to,
            language=language,
            context=context,
            sender=self.settings.smtp_from,
            message_id=message_id,
        )

    def connection(self) -> aiosmtplib.SMTP:
        """An SMTP client for several messages on one connection (use ``async with``)."""
        s = self.settings
        return aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_username or None,
            password=s.smtp_password or None,
            use_tls=s.smtp_security == "tls",
            start_tls=s.smtp_security == "starttls",
            timeout=s.smtp_timeout_seconds,
        )

    async def send(self, message: EmailMessage) -> None:
        try:
            async with self.connection() as smtp:
                await smtp.send_message(message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise classify(exc) from exc
        log.info("mail.sent", extra={"subject": message["Subject"]})


def classify(exc: BaseException) -> PermanentMailError | TemporaryMailError:
    """A 5xx refusal is permanent; a 4xx, a timeout or a lost connection is temporary."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        detail = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        if codes and all(500 <= code < 600 for code in codes):
            return PermanentMailError(detail)
        return TemporaryMailError(detail)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        if 500 <= exc.code < 600:
            return PermanentMailError(f"{exc.code} {exc.message}")
        return TemporaryMailError(f"{exc.code} {exc.message}")
    return TemporaryMailError(str(exc) or type(exc).__name__)
