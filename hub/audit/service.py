"""Writing and reading the audit log. An entry is written in the same unit of work as the
action it records: both are kept, or neither."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.context import ACTOR
from hub.models import AuditAction, AuditEntry

HUB_ITSELF = "Partner Hub"  # the actor of scheduled work: a cron job, a publish at its time
ERASED = "(erased)"


async def record(
    session: AsyncSession,
    action: AuditAction,
    *,
    target_type: str,
    target_id: int | None,
    summary: str = "",
) -> None:
    """Note that the current actor (see hub.context) did ``action`` to the target."""
    actor = ACTOR.get()
    session.add(
        AuditEntry(
            actor_id=actor.user_id if actor else None,
            actor_label=actor.label if actor else HUB_ITSELF,
            action=action,
            target_type=target_type,
            target_id=target_id,
            summary=summary[:500],
        )
    )


async def entries(
    session: AsyncSession,
    *,
    action: AuditAction | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[AuditEntry], int]:
    """The newest first, optionally of one action; and how many there are in all."""
    query = select(AuditEntry)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = await session.exec(
        query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows.all()), int(total)


async def forget_person(session: AsyncSession, *, user_id: int) -> None:
    """An erased person's e-mail leaves the log too: as the actor, and in what was done to
    them. What happened, and when, stays."""
    await session.exec(
        sa.update(AuditEntry).where(col(AuditEntry.actor_id) == user_id).values(actor_label=ERASED)
    )
    await session.exec(
        sa.update(AuditEntry)
        .where(col(AuditEntry.target_type) == "user", col(AuditEntry.target_id) == user_id)
        .values(summary="")
    )
