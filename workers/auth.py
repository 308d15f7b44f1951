"""Jobs of the auth domain: thin wrappers around `hub.auth.service`."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from arq import Retry

from hub.auth import service
from hub.db import unit_of_work
from hub.mail import PermanentMailError, TemporaryMailError
from hub.state import HubState

log = logging.getLogger("hub.auth")

# Backoff for mail that could not be handed to the SMTP server.
RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(minutes=30),
)


async def send_invitation(ctx: dict[str, Any], user_id: int) -> str:
    """E-mail a user a fresh link to choose a password."""
    state: HubState = ctx["hub"]
    ttl = timedelta(days=state.settings.invitation_days)
    # The token is committed before the mail goes out: a retry makes a new link, and a link
    # that was mailed always exists.
    async with unit_of_work(state.db, state.queue) as session:
        prepared = await service.prepare_invitation(session, user_id=user_id, ttl=ttl)
        if prepared is None:
            return "skipped: user gone, disabled or already has a password"
        user, raw = prepared
        message = state.mailer.render(
            "invitation",
            to=user.email,
            language=user.language,
            context={
                "name": user.name or user.email,
                "link": f"{state.settings.base_url}/invitation/{raw}",
                "days": state.settings.invitation_days,
            },
        )
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


async def send_magic_link(ctx: dict[str, Any], user_id: int) -> str:
    """E-mail a sign-in link that works once, for at most 15 minutes."""
    state: HubState = ctx["hub"]
    ttl = timedelta(minutes=state.settings.magic_link_minutes)
    async with unit_of_work(state.db, state.queue) as session:
        prepared = await service.prepare_magic_link(session, user_id=user_id, ttl=ttl)
        if prepared is None:
            return "skipped: user gone or disabled"
        user, raw = prepared
        message = state.mailer.render(
            "magic_link",
            to=user.email,
            language=user.language,
            context={
                "name": user.name or user.email,
                "link": f"{state.settings.base_url}/login/link/{raw}",
                "minutes": state.settings.magic_link_minutes,
            },
        )
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
