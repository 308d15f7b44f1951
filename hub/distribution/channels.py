"""The three channels. Each sends a batch of claimed deliveries and says what came of each:
email over one SMTP connection, SMS through the HTTP gateway, webhooks signed per partner."""

from __future__ import annotations

import email.policy
import json
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any, Protocol
from urllib.parse import urlsplit

import aiosmtplib
import httpx
from markupsafe import escape

from hub import i18n
from hub.config import Settings
from hub.distribution import sms, webhooks
from hub.distribution.retry import http_is_temporary
from hub.distribution.service import Claimed, Outcome
from hub.i18n import _
from hub.mail import Mailer, PermanentMailError, classify, render_email
from hub.models import DeliveryChannel

NAME_PLACEHOLDER = "[[hub-contact-name]]"
_HTML_NAME_PLACEHOLDER = "[[hub-contact-name-html]]"
_TO_PLACEHOLDER = "hub-recipient-placeholder@invalid"
_ID_PLACEHOLDER = "<hub-message-id-placeholder@invalid>"
SMS_MAX_SEGMENTS = 3
_PHONE = re.compile(r"^\+?[0-9]{6,15}$")


# Told of each delivery's outcome as soon as it is known (the worker records them in bulk,
# often, so that a killed worker leaves little sent but unrecorded).
Report = Callable[[Outcome], Awaitable[None]]


class Channel(Protocol):
    name: DeliveryChannel

    async def send(self, batch: Sequence[Claimed], report: Report) -> None: ...


def kit_link(settings: Settings, campaign_id: int) -> str:
    return f"{settings.base_url}/portal/campaigns/{campaign_id}"


def contact_language(settings: Settings, language: str | None) -> str:
    """Notifications are written in the contact's language where the hub has it, else the
    hub's default."""
    return language if language in i18n.LANGUAGES else settings.default_language


def _period(claimed: Claimed) -> str:
    c = claimed.campaign
    if c.starts_on and c.ends_on:
        return f"{c.starts_on:%d.%m.%Y}–{c.ends_on:%d.%m.%Y}"
    if c.starts_on:
        return f"{c.starts_on:%d.%m.%Y}–"
    return ""


def message_id(settings: Settings, delivery_id: int) -> str:
    """Stable per delivery, so a resent message is recognisably the same one."""
    host = urlsplit(settings.base_url).hostname or "partner-hub"
    return f"<delivery-{delivery_id}@{host}>"


# --- email ----------------------------------------------------------------------------------


class EmailChannel:
    name = DeliveryChannel.email

    def __init__(self, settings: Settings, mailer: Mailer) -> None:
        self.settings = settings
        self.mailer = mailer
        # One rendering per campaign, organisation and language; the name is filled in after.
        self._rendered: dict[tuple[int, int, str], EmailMessage] = {}
        self._raw: dict[tuple[int, int, str], bytes | None] = {}
        self._sender = parseaddr(settings.smtp_from)[1]
        self._smtp: aiosmtplib.SMTP | None = None

    def _template(self, claimed: Claimed, language: str) -> EmailMessage:
        key = (claimed.campaign.id or 0, claimed.organisation.id or 0, language)
        if key not in self._rendered:
            self._rendered[key] = render_email(
                "campaign",
                to="",
                language=language,
                context={
                    "name": NAME_PLACEHOLDER,
                    "organisation": claimed.organisation.name,
                    "title": claimed.campaign.title,
                    "purpose": claimed.campaign.purpose,
                    "period": _period(claimed),
                    "link": kit_link(self.settings, claimed.campaign.id or 0),
                },
                sender=self.settings.smtp_from,
            )
        return self._rendered[key]

    def _raw_template(self, claimed: Claimed, language: str) -> bytes | None:
        """The whole message as 8-bit MIME bytes with placeholders for the recipient, the
        Message-ID and the name, so that each contact costs a few byte replacements instead of
        building and serialising a MIME tree (about 1 ms each). None: use message()."""
        key = (claimed.campaign.id or 0, claimed.organisation.id or 0, language)
        if key not in self._raw:
            base = self._template(claimed, language)
            text, html = (part.get_content() for part in base.iter_parts())
            message = EmailMessage(policy=email.policy.SMTP)
            message["Subject"] = base["Subject"]
            message["From"] = base["From"]
            message["To"] = _TO_PLACEHOLDER
            message["Message-ID"] = _ID_PLACEHOLDER
            try:
                message.set_content(text, cte="8bit")
                message.add_alternative(
                    html.replace(NAME_PLACEHOLDER, _HTML_NAME_PLACEHOLDER),
                    subtype="html",
                    cte="8bit",
                )
                message["Content-Language"] = language
                self._raw[key] = message.as_bytes()
            except ValueError:  # a line too long for 8-bit transport: encode per message
                self._raw[key] = None
        return self._raw[key]

    def raw(self, claimed: Claimed) -> bytes | None:
        """The message for this contact as bytes (8-bit MIME), or None when it needs message()."""
        contact = claimed.contact
        assert contact is not None
        if not contact.email.isascii():
            return None
        template = self._raw_template(claimed, contact_language(self.settings, contact.language))
        if template is None:
            return None
        name = contact.name or contact.email
        return (
            template.replace(_TO_PLACEHOLDER.encode(), contact.email.encode())
            .replace(
                _ID_PLACEHOLDER.encode(),
                message_id(self.settings, claimed.delivery.id or 0).encode(),
            )
            .replace(_HTML_NAME_PLACEHOLDER.encode(), str(escape(name)).encode())
            .replace(NAME_PLACEHOLDER.encode(), name.encode())
        )

    async def _send_one(self, smtp: aiosmtplib.SMTP, claimed: Claimed) -> None:
        raw = self.raw(claimed) if smtp.supports_extension("8bitmime") else None
        if raw is None:
            await smtp.send_message(self.message(claimed))
        else:
            assert claimed.contact is not None
            await smtp.sendmail(self._sender, [claimed.contact.email], raw)

    def message(self, claimed: Claimed) -> EmailMessage:
        contact = claimed.contact
        assert contact is not None
        language = contact_language(self.settings, contact.language)
        template = self._template(claimed, language)
        name = contact.name or contact.email
        message = EmailMessage()
        for header in ("Subject", "From"):
            message[header] = template[header]
        message["To"] = contact.email
        message["Message-ID"] = message_id(self.settings, claimed.delivery.id or 0)
        text, html = (part.get_content() for part in template.iter_parts())
        message.set_content(text.replace(NAME_PLACEHOLDER, name))
        message.add_alternative(html.replace(NAME_PLACEHOLDER, str(escape(name))), subtype="html")
        message["Content-Language"] = language
        return message

    async def _connection(self) -> aiosmtplib.SMTP:
        """One SMTP connection for the whole job, opened on first use."""
        if self._smtp is None or not self._smtp.is_connected:
            self._smtp = self.mailer.connection()
            await self._smtp.connect()
        return self._smtp

    async def aclose(self) -> None:
        if self._smtp is not None and self._smtp.is_connected:
            try:
                await self._smtp.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                self._smtp.close()
        self._smtp = None

    async def send(self, batch: Sequence[Claimed], report: Report) -> None:
        pending = list(batch)
        try:
            smtp = await self._connection()
            while pending:
                claimed = pending[0]
                delivery_id = claimed.delivery.id or 0
                if claimed.contact is None or not claimed.contact.email:
                    await report(Outcome.permanent_failure(delivery_id, "no e-mail address"))
                    pending.pop(0)
                    continue
                try:
                    await self._send_one(smtp, claimed)
                except (aiosmtplib.SMTPRecipientsRefused, aiosmtplib.SMTPResponseException) as exc:
                    error = classify(exc)
                    await report(
                        Outcome.permanent_failure(delivery_id, str(error))
                        if isinstance(error, PermanentMailError)
                        else Outcome.temporary(delivery_id, str(error))
                    )
                    pending.pop(0)
                    if not smtp.is_connected:
                        raise
                    await smtp.rset()
                    continue
                await report(Outcome.ok(delivery_id))
                pending.pop(0)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            # The connection is gone: what was not sent is tried again later.
            reason = str(classify(exc))
            for c in pending:
                await report(Outcome.temporary(c.delivery.id or 0, reason))
            await self.aclose()


# --- SMS --------------------------------------------------------------------------------------


def normalise_phone(raw: str | None) -> str | None:
    """E.164 where it can be made: Danish eight-digit numbers get +45."""
    if not raw:
        return None
    digits = re.sub(r"[\s\-().]", "", raw)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if re.fullmatch(r"[0-9]{8}", digits):
        digits = "+45" + digits
    return digits if _PHONE.match(digits) else None


def sms_text(settings: Settings, claimed: Claimed, language: str) -> str:
    link = kit_link(settings, claimed.campaign.id or 0)
    with i18n.use_language(language):
        lead = _("New campaign from the municipality: %(title)s.") % {
            "title": claimed.campaign.title
        }
        tail = " " + _("See it here: %(link)s") % {"link": link}
    return sms.fit(lead, max_segments=SMS_MAX_SEGMENTS, keep_end=tail)


def _fill(template: Any, values: dict[str, str]) -> Any:
    """The gateway's JSON body with {to}, {text}, {sender} replaced inside its strings."""
    if isinstance(template, str):
        for name, value in values.items():
            template = template.replace("{" + name + "}", value)
        return template
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    return template


class SmsChannel:
    name = DeliveryChannel.sms

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if ":" in self.settings.sms_gateway_auth_header:
            name, value = self.settings.sms_gateway_auth_header.split(":", 1)
            headers[name.strip()] = value.strip()
        return headers

    async def send(self, batch: Sequence[Claimed], report: Report) -> None:
        for claimed in batch:
            delivery_id = claimed.delivery.id or 0
            if not self.settings.sms_gateway_url:
                await report(Outcome.temporary(delivery_id, "no SMS gateway is configured"))
                continue
            phone = normalise_phone(claimed.contact.phone if claimed.contact else None)
            if phone is None:
                await report(Outcome.permanent_failure(delivery_id, "invalid phone number"))
                continue
            language = contact_language(
                self.settings, claimed.contact.language if claimed.contact else None
            )
            text = sms_text(self.settings, claimed, language)
            body = _fill(
                json.loads(self.settings.sms_gateway_body),
                {"to": phone, "text": text, "sender": self.settings.sms_sender},
            )
            await report(
                await _post(
                    self.client,
                    delivery_id,
                    self.settings.sms_gateway_url,
                    content=json.dumps(body, ensure_ascii=False).encode(),
                    headers=self._headers(),
                )
            )


async def _post(
    client: httpx.AsyncClient,
    delivery_id: int,
    url: str,
    *,
    content: bytes,
    headers: dict[str, str],
) -> Outcome:
    try:
        response = await client.post(url, content=content, headers=headers)
    except httpx.TimeoutException:
        return Outcome.temporary(delivery_id, "timed out")
    except httpx.HTTPError as exc:
        return Outcome.temporary(delivery_id, f"{type(exc).__name__}: {exc}"[:1000])
    if 200 <= response.status_code < 300:
        return Outcome.ok(delivery_id)
    error = f"HTTP {response.status_code}: {response.text[:300]}"
    if http_is_temporary(response.status_code):
        return Outcome.temporary(delivery_id, error)
    return Outcome.permanent_failure(delivery_id, error)


# --- webhooks ---------------------------------------------------------------------------------


def webhook_event(settings: Settings, claimed: Claimed, timestamp: int) -> dict[str, Any]:
    c = claimed.campaign
    return {
        "type": "campaign.published",
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp)),
        "data": {
            "campaign_id": c.id,
            "title": c.title,
            "purpose": c.purpose,
            "starts_on": c.starts_on.isoformat() if c.starts_on else None,
            "ends_on": c.ends_on.isoformat() if c.ends_on else None,
            "organisation_id": claimed.organisation.id,
            "url": kit_link(settings, c.id or 0),
        },
    }


class WebhookChannel:
    name = DeliveryChannel.webhook

    def __init__(self, settings: Settings, client: httpx.AsyncClient) -> None:
        self.settings = settings
        self.client = client

    async def send(self, batch: Sequence[Claimed], report: Report) -> None:
        for claimed in batch:
            delivery_id = claimed.delivery.id or 0
            organisation = claimed.organisation
            if not organisation.webhook_url or not organisation.webhook_secret:
                await report(Outcome.permanent_failure(delivery_id, "no webhook configured"))
                continue
            try:
                url = await webhooks.check_target(
                    organisation.webhook_url, allow_private=self.settings.webhook_allow_private
                )
            except webhooks.UnsafeTarget as exc:
                await report(Outcome.permanent_failure(delivery_id, exc.detail))
                continue
            timestamp = int(time.time())
            body = json.dumps(
                webhook_event(self.settings, claimed, timestamp), ensure_ascii=False
            ).encode()
            webhook_id = f"msg_delivery_{delivery_id}"
            headers = {
                "Content-Type": "application/json",
                "webhook-id": webhook_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": webhooks.sign(
                    organisation.webhook_secret,
                    message_id=webhook_id,
                    timestamp=timestamp,
                    body=body,
                ),
            }
            await report(await _post(self.client, delivery_id, url, content=body, headers=headers))
