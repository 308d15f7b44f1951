"""Managing the hub's users (admins, officers, partner users)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from hub.audit import service as audit
from hub.auth import service as auth
from hub.errors import Conflict, FieldError, InvalidInput
from hub.i18n import LANGUAGES, _
from hub.models import AuditAction, Organisation, OrgRole, Role, User
from hub.text import clean, search_text


def visible_users(principal: User) -> SelectOfScalar[User]:
    """The one place that decides which users a principal may see."""
    query = select(User)
    if principal.role is Role.partner:
        # A partner sees the users of its own organisation, never anybody else; a member
        # only themselves.
        query = query.where(User.organisation_id == principal.organisation_id)
        if principal.org_role is not OrgRole.coordinator:
            query = query.where(User.id == principal.id)
    return query


async def list_users(
    session: AsyncSession, *, principal: User, search: str = "", limit: int = 50, offset: int = 0
) -> tuple[list[User], int]:
    query = visible_users(principal)
    if search_text(search):
        pattern = f"%{search_text(search).lower()}%"
        query = query.where(
            sa.or_(col(User.email).like(pattern), func.lower(col(User.name)).like(pattern))
        )
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    page = await session.exec(query.order_by(col(User.email)).limit(limit).offset(offset))
    return list(page.all()), int(total)


async def get_visible_user(session: AsyncSession, *, principal: User, user_id: int) -> User | None:
    result = await session.exec(visible_users(principal).where(User.id == user_id))
    return result.first()


async def count_active_admins(session: AsyncSession) -> int:
    result = await session.exec(
        select(func.count())
        .select_from(User)
        .where(User.role == Role.admin, col(User.is_active).is_(True))
    )
    return int(result.one())


async def update_user(
    session: AsyncSession,
    *,
    actor: User,
    user: User,
    name: str | None = None,
    role: Role | None = None,
    language: str | None = None,
    is_active: bool | None = None,
) -> User:
    """Change a user; the hub always keeps at least one active admin."""
    if language is not None and language not in LANGUAGES:
        raise InvalidInput(
            _("Unknown language."), errors=[FieldError("language", _("Unknown language."))]
        )
    losing_admin = (
        user.role is Role.admin
        and user.is_active
        and ((role is not None and role is not Role.admin) or is_active is False)
    )
    if losing_admin and await count_active_admins(session) <= 1:
        raise Conflict(_("The hub needs at least one active administrator."))
    if role is not None and role != user.role:
        if (role is Role.partner) != (user.organisation_id is not None):
            raise InvalidInput(
                _(
                    "Partner users belong to an organisation and staff users do not; "
                    "invite a new user instead."
                ),
                errors=[FieldError("role", _("This role change is not possible."))],
            )
        user.role = role
        await auth.revoke_user_access(session, user_id=user.id)  # type: ignore[arg-type]
    if name is not None:
        user.name = clean(name, field="name", max_length=200)
    if language is not None:
        user.language = language
    if is_active is False and user.is_active:
        if actor.id == user.id:
            raise Conflict(_("You cannot disable your own account."))
        await auth.disable_user(session, user=user)
        await audit.record(
            session,
            AuditAction.user_disabled,
            target_type="user",
            target_id=user.id,
            summary=user.email,
        )
    elif is_active is True and not user.is_active:
        await auth.enable_user(session, user=user)
        await audit.record(
            session,
            AuditAction.user_enabled,
            target_type="user",
            target_id=user.id,
            summary=user.email,
        )
    session.add(user)
    await session.flush()
    return user


async def organisation_choices(session: AsyncSession) -> list[Organisation]:
    result = await session.exec(select(Organisation).order_by(col(Organisation.name)))
    return list(result.all())
