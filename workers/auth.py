"""Jobs of the auth domain: thin wrappers around `hub.auth.service`."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlencode

from arq import Retry

from hub.auth import service
from hub.db import unit_of_work
from hub.forms import safe_next
from hub.mail import PermanentMailError, TemporaryMailError
from hub.models import User
from hub.state import HubState

log = logging.getLogger("hub.auth")

# Backoff for mail that could not be handed to the SMTP server.
RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
)


Prepare = Callable[..., Awaitable[tuple[User, str] | None]]


async def _link_mail(
    state: HubState,
    *,
    user_id: int,
    prepare: Prepare,
    ttl: timedelta,
    template: str,
    path: str,
    context: dict[str, Any],
    query: str = "",
) -> EmailMessage | None:
    """Make a single-use link for the user and render the e-mail carrying it (None: skip).

    The token is committed before the mail goes out: a retry makes a new link, and a link that
    was mailed always exists.
    """
    async with unit_of_work(state.db, state.queue) as session:
        prepared = await prepare(session, user_id=user_id, ttl=ttl)
        if prepared is None:
            return None
        user, raw = prepared
        return state.mailer.render(
            template,
            to=user.email,
            language=user.language,
            context={
                "name": user.name or user.email,
                "link": f"{state.settings.base_url}{path}{raw}{query}",
                **context,
            },
        )


async def send_invitation(ctx: dict[str, Any], user_id: int) -> str:
    """E-mail a user a fresh link to choose a password."""
    state: HubState = ctx["hub"]
    message = await _link_mail(
        state,
        user_id=user_id,
        prepare=service.prepare_invitation,
        ttl=timedelta(days=state.settings.invitation_days),
        template="invitation",
        path="/invitation/",
        context={"days": state.settings.invitation_days},
    )
    if message is None:
        return "skipped: user gone, disabled or already has a password"
    try:
        await state.mailer.send(message)
    except TemporaryMailError as exc:
        attempt = ctx.get("job_try", 1)
        if attempt > len(RETRY_DELAYS):
            log.error("auth.invitation_failed", extra={"user_id": user_id, "error": str(exc)})
            return f"failed: {exc}"
        raise Retry(defer=RETRY_DELAYS[attempt - 1]) from exc
    except PermanentMailError as exc:
        log.error("auth.invitation_refused", extra={"user_id": user_id, "error": str(exc)})
        return f"refused: {exc}"
    return "sent"


async def send_magic_link(ctx: dict[str, Any], user_id: int, next: str = "/") -> str:
    """E-mail a sign-in link that works once, for at most 15 minutes, and leads to ``next``."""
    state: HubState = ctx["hub"]
    minutes = state.settings.magic_link_minutes
    target = safe_next(next)
    message = await _link_mail(
        state,
        user_id=user_id,
        prepare=service.prepare_magic_link,
        ttl=timedelta(minutes=minutes),
        template="magic_link",
        path="/login/link/",
        context={"minutes": minutes},
        query="" if target == "/" else "?" + urlencode({"next": target}),
    )
    if message is None:
        return "skipped: user gone or disabled"
    try:
        await state.mailer.send(message)
    except TemporaryMailError as exc:
        # A sign-in link is wanted now; one quick retry, then the user asks again.
        if ctx.get("job_try", 1) >= 2:
            return f"failed: {exc}"
        raise Retry(defer=timedelta(seconds=20)) from exc
    except PermanentMailError as exc:
        log.error("auth.magic_link_refused", extra={"user_id": user_id, "error": str(exc)})
        return f"refused: {exc}"
    return "sent"
