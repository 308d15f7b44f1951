"""Sign-in, sessions, API tokens and single-use links. No HTTP here; callers own the commit."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub import jobs
from hub.audit import service as audit
from hub.auth import security
from hub.errors import Conflict, FieldError, InvalidInput, NotFound
from hub.i18n import _, ngettext
from hub.models import (
    ApiToken,
    AuditAction,
    NotifyBy,
    OneTimeToken,
    Organisation,
    OrgRole,
    Role,
    TokenPurpose,
    User,
    UserSession,
    utcnow,
)
from hub.text import clean

API_TOKEN_PREFIX = "hub_"  # noqa: S105 - a prefix, not a secret


def normalise_email(email: str) -> str:
    return email.strip().lower()


def check_email(email: str, field: str = "email") -> str:
    """A syntactically valid address, normalised; no DNS lookup (works offline)."""
    try:
        return normalise_email(validate_email(email.strip(), check_deliverability=False).normalized)
    except EmailNotValidError:
        raise InvalidInput(
            _("Enter a valid e-mail address."),
            errors=[FieldError(field, _("Enter a valid e-mail address."))],
        ) from None


def password_problems(
    password: str, *, email: str = "", field: str = "password"
) -> list[FieldError]:
    problems = []
    if len(password) < security.MIN_PASSWORD_LENGTH:
        problems.append(
            FieldError(
                field,
                ngettext(
                    "Use at least %(num)d character.",
                    "Use at least %(num)d characters.",
                    security.MIN_PASSWORD_LENGTH,
                )
                % {"num": security.MIN_PASSWORD_LENGTH},
            )
        )
    elif len(password) > security.MAX_PASSWORD_LENGTH:
        problems.append(FieldError(field, _("The password is too long.")))
    elif email and password.strip().lower() == email.strip().lower():
        problems.append(FieldError(field, _("The password must not be your e-mail address.")))
    return problems


def check_password(password: str, *, email: str = "", field: str = "password") -> None:
    problems = password_problems(password, email=email, field=field)
    if problems:
        raise InvalidInput(problems[0].message, errors=problems)


# --- users -----------------------------------------------------------------------------------


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    result = await session.exec(select(User).where(User.email == normalise_email(email)))
    user: User | None = result.first()
    return user


async def count_users(session: AsyncSession) -> int:
    result = await session.exec(select(func.count()).select_from(User))
    return int(result.one())


async def create_user(
    session: AsyncSession,
    *,
    email: str,
    role: Role,
    name: str = "",
    password: str | None = None,
    organisation_id: int | None = None,
    language: str = "da",
    phone: str | None = None,
    notify_by: NotifyBy = NotifyBy.email,
    org_role: OrgRole | None = None,
) -> User:
    """Create a user; partners must belong to an organisation, staff must not."""
    email = check_email(email)
    role = Role(role)
    if role is Role.partner and organisation_id is None:
        raise InvalidInput(
            _("A partner user must belong to an organisation."),
            errors=[FieldError("organisation_id", _("Choose the user's organisation."))],
        )
    if role is not Role.partner and organisation_id is not None:
        raise InvalidInput(
            _("Only partner users belong to an organisation."),
            errors=[FieldError("organisation_id", _("Leave empty for staff users."))],
        )
    organisation = await session.get(Organisation, organisation_id) if organisation_id else None
    if organisation_id is not None and organisation is None:
        raise InvalidInput(
            _("The organisation does not exist."),
            errors=[FieldError("organisation_id", _("The organisation does not exist."))],
        )
    if organisation is not None and organisation.status == "offboarded":
        raise Conflict(
            _("The organisation is offboarded. Set it active again first."),
            errors=[FieldError("organisation_id", _("The organisation is offboarded."))],
        )
    if password is not None:
        check_password(password, email=email)
    if await user_by_email(session, email) is not None:
        raise Conflict(
            _("A user with this e-mail address already exists."),
            errors=[FieldError("email", _("A user with this e-mail address already exists."))],
        )
    if role is Role.partner:
        org_role = org_role or OrgRole.member
    elif org_role is not None:
        raise InvalidInput(
            _("Only partner users have a role in an organisation."),
            errors=[FieldError("org_role", _("Leave empty for staff users."))],
        )
    user = User(
        email=email,
        name=clean(name, field="name", max_length=200),
        role=role,
        organisation_id=organisation_id,
        password_hash=security.hash_password(password) if password else None,
        language=language,
        phone=clean(phone, field="phone", max_length=40) or None,
        notify_by=NotifyBy(notify_by),
        org_role=org_role,
    )
    session.add(user)
    await session.flush()
    return user


async def set_password(session: AsyncSession, *, user: User, password: str) -> None:
    check_password(password, email=user.email)
    user.password_hash = security.hash_password(password)
    session.add(user)
    await session.flush()


async def authenticate(session: AsyncSession, *, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, or None (same time either way)."""
    user = await user_by_email(session, email)
    ok = security.verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        return None
    if user.password_hash and security.needs_rehash(user.password_hash):
        user.password_hash = security.hash_password(password)
    user.last_login_at = utcnow()
    session.add(user)
    await session.flush()
    return user


async def disable_user(session: AsyncSession, *, user: User) -> None:
    """Disable an account and cut it off at once: sessions and API tokens stop working."""
    user.is_active = False
    user.disabled_at = utcnow()
    session.add(user)
    await revoke_user_access(session, user_id=user.id)  # type: ignore[arg-type]


async def enable_user(session: AsyncSession, *, user: User) -> None:
    if user.erased_at is not None:
        raise Conflict(_("This account has been erased and cannot be enabled."))
    if user.organisation_id is not None:
        organisation = await session.get(Organisation, user.organisation_id)
        if organisation is not None and organisation.status == "offboarded":
            raise Conflict(_("The user's organisation is offboarded. Set it active again first."))
    user.is_active = True
    user.disabled_at = None
    session.add(user)
    await session.flush()


async def revoke_user_access(session: AsyncSession, *, user_id: int) -> None:
    now = utcnow()
    await session.exec(
        sa.update(UserSession)
        .where(col(UserSession.user_id) == user_id, col(UserSession.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    await session.exec(
        sa.update(ApiToken)
        .where(col(ApiToken.user_id) == user_id, col(ApiToken.revoked_at).is_(None))
        .values(revoked_at=now)
    )
    # Unused invitation and sign-in links die too: re-enabling the account must not revive them.
    await session.exec(
        sa.update(OneTimeToken)
        .where(col(OneTimeToken.user_id) == user_id, col(OneTimeToken.used_at).is_(None))
        .values(used_at=now)
    )
    await session.flush()


async def forget_user_secrets(session: AsyncSession, *, user_id: int) -> None:
    """Delete the user's sessions, tokens and links outright (erasure)."""
    for table in (UserSession, ApiToken, OneTimeToken):
        await session.exec(sa.delete(table).where(col(table.user_id) == user_id))  # type: ignore[attr-defined]
    await session.flush()


async def agreement_missing(session: AsyncSession, *, user: User, version: str) -> bool:
    """Whether a partner user's organisation has yet to accept this agreement version."""
    if user.role is not Role.partner or user.organisation_id is None:
        return False
    organisation = await session.get(Organisation, user.organisation_id)
    return organisation is None or organisation.dpa_version != version


# --- sessions --------------------------------------------------------------------------------


async def start_session(session: AsyncSession, *, user: User, hours: int) -> str:
    """A fresh session id for ``user`` (always new at sign-in: no fixation)."""
    raw = security.new_token()
    session.add(
        UserSession(
            token_hash=security.hash_token(raw),
            user_id=user.id,  # type: ignore[arg-type]
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    await session.flush()
    return raw


async def session_user(session: AsyncSession, raw: str) -> User | None:
    if not raw:
        return None
    query = (
        select(User)
        .join(UserSession, col(UserSession.user_id) == col(User.id))
        .where(
            UserSession.token_hash == security.hash_token(raw),
            col(UserSession.revoked_at).is_(None),
            col(UserSession.expires_at) > utcnow(),
            col(User.is_active).is_(True),
        )
    )
    result = await session.exec(query)
    user: User | None = result.first()
    return user


async def list_sessions(session: AsyncSession, *, user: User) -> list[UserSession]:
    result = await session.exec(
        select(UserSession)
        .where(UserSession.user_id == user.id)
        .order_by(col(UserSession.id).desc())
    )
    return list(result.all())


async def end_session(session: AsyncSession, raw: str) -> None:
    await session.exec(
        sa.update(UserSession)
        .where(col(UserSession.token_hash) == security.hash_token(raw))
        .values(revoked_at=utcnow())
    )
    await session.flush()


# --- API tokens ------------------------------------------------------------------------------


async def create_api_token(
    session: AsyncSession, *, user: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new bearer token; the raw value is returned once and only its hash is kept."""
    name = clean(name, field="name", max_length=100)
    if not name:
        raise InvalidInput(
            _("Give the token a name of 1 to 100 characters."),
            errors=[FieldError("name", _("Give the token a name of 1 to 100 characters."))],
        )
    if expires_at is not None and expires_at <= utcnow():
        raise InvalidInput(
            _("The expiry must be in the future."),
            errors=[FieldError("expires_at", _("The expiry must be in the future."))],
        )
    raw = security.new_token(API_TOKEN_PREFIX)
    token = ApiToken(
        user_id=user.id,  # type: ignore[arg-type]
        name=name,
        token_hash=security.hash_token(raw),
        prefix=raw[: len(API_TOKEN_PREFIX) + 6],
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    return token, raw


async def list_api_tokens(session: AsyncSession, *, user: User) -> list[ApiToken]:
    result = await session.exec(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(col(ApiToken.id).desc())
    )
    return list(result.all())


async def revoke_api_token(session: AsyncSession, *, user: User, token_id: int) -> ApiToken:
    token = await session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(_("No such token."))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        await session.flush()
    return token


async def token_user(session: AsyncSession, raw: str, *, record_use: bool = False) -> User | None:
    """The active user behind an API token; ``record_use`` notes the time (write requests)."""
    if not raw.startswith(API_TOKEN_PREFIX):
        return None
    now = utcnow()
    query = (
        select(User, ApiToken)
        .join(ApiToken, col(ApiToken.user_id) == col(User.id))
        .where(
            ApiToken.token_hash == security.hash_token(raw),
            col(ApiToken.revoked_at).is_(None),
            sa.or_(col(ApiToken.expires_at).is_(None), col(ApiToken.expires_at) > now),
            col(User.is_active).is_(True),
        )
    )
    row = (await session.exec(query)).first()
    if row is None:
        return None
    user, token = row
    if record_use:
        token.last_used_at = now
        session.add(token)
        await session.flush()
    return user


# --- single-use links ------------------------------------------------------------------------


async def issue_link_token(
    session: AsyncSession, *, purpose: TokenPurpose, ttl: timedelta, user_id: int | None = None
) -> str:
    """A single-use token; earlier unused tokens of the same purpose and user stop working."""
    now = utcnow()
    await session.exec(
        sa.update(OneTimeToken)
        .where(
            col(OneTimeToken.purpose) == purpose,
            col(OneTimeToken.user_id).is_(None)
            if user_id is None
            else col(OneTimeToken.user_id) == user_id,
            col(OneTimeToken.used_at).is_(None),
        )
        .values(used_at=now)
    )
    raw = security.new_token()
    session.add(
        OneTimeToken(
            purpose=purpose,
            token_hash=security.hash_token(raw),
            user_id=user_id,
            expires_at=now + ttl,
        )
    )
    await session.flush()
    return raw


async def peek_link_token(
    session: AsyncSession, *, purpose: TokenPurpose, raw: str
) -> OneTimeToken | None:
    """The token if it is still usable, without using it (for showing a confirm form)."""
    result = await session.exec(
        select(OneTimeToken).where(
            OneTimeToken.token_hash == security.hash_token(raw),
            OneTimeToken.purpose == purpose,
            col(OneTimeToken.used_at).is_(None),
            col(OneTimeToken.expires_at) > utcnow(),
        )
    )
    token: OneTimeToken | None = result.first()
    return token


async def use_link_token(session: AsyncSession, *, purpose: TokenPurpose, raw: str) -> OneTimeToken:
    """Use a token exactly once, even under concurrent requests (one conditional UPDATE)."""
    now = utcnow()
    result = await session.exec(
        sa.update(OneTimeToken)
        .where(
            col(OneTimeToken.token_hash) == security.hash_token(raw),
            col(OneTimeToken.purpose) == purpose,
            col(OneTimeToken.used_at).is_(None),
            col(OneTimeToken.expires_at) > now,
        )
        .values(used_at=now)
        .returning(col(OneTimeToken.id))
    )
    token_id = result.scalar_one_or_none()
    if token_id is None:
        raise NotFound(_("This link has expired or has already been used."))
    token = await session.get(OneTimeToken, token_id)
    assert token is not None
    return token


# --- first admin and invitations -------------------------------------------------------------


async def create_setup_link(session: AsyncSession, *, base_url: str, ttl: timedelta) -> str | None:
    """On an empty hub, a one-time link that creates the first admin; otherwise None."""
    if await count_users(session) > 0:
        return None
    raw = await issue_link_token(session, purpose=TokenPurpose.setup, ttl=ttl)
    return f"{base_url}/setup/{raw}"


async def create_first_admin(
    session: AsyncSession, *, raw_token: str, email: str, name: str, password: str
) -> User:
    email = check_email(email)
    check_password(password, email=email)
    await use_link_token(session, purpose=TokenPurpose.setup, raw=raw_token)
    if await count_users(session) > 0:
        raise Conflict(_("The hub has been set up already. Sign in instead."))
    return await create_user(session, email=email, name=name, role=Role.admin, password=password)


async def invite_user(
    session: AsyncSession,
    *,
    email: str,
    role: Role,
    name: str = "",
    organisation_id: int | None = None,
    language: str = "da",
    phone: str | None = None,
    notify_by: NotifyBy = NotifyBy.email,
    org_role: OrgRole | None = None,
) -> User:
    """Create a user without a password and e-mail them a link to choose one (after commit)."""
    user = await create_user(
        session,
        email=email,
        role=role,
        name=name,
        organisation_id=organisation_id,
        language=language,
        phone=phone,
        notify_by=notify_by,
        org_role=org_role,
    )
    jobs.defer(session, "auth.send_invitation", user.id)  # type: ignore[arg-type]
    await audit.record(
        session,
        AuditAction.user_invited,
        target_type="user",
        target_id=user.id,
        summary=f"{user.email} ({role.value})",
    )
    return user


async def prepare_invitation(
    session: AsyncSession, *, user_id: int, ttl: timedelta
) -> tuple[User, str] | None:
    """A fresh invitation link for a user who has not chosen a password yet."""
    user = await session.get(User, user_id)
    if user is None or not user.is_active or user.password_hash:
        return None
    raw = await issue_link_token(session, purpose=TokenPurpose.invitation, ttl=ttl, user_id=user_id)
    return user, raw


async def accept_invitation(session: AsyncSession, *, raw_token: str, password: str) -> User:
    token = await peek_link_token(session, purpose=TokenPurpose.invitation, raw=raw_token)
    if token is None or token.user_id is None:
        raise NotFound(_("This link has expired or has already been used."))
    user = await session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise NotFound(_("This link has expired or has already been used."))
    check_password(password, email=user.email)
    await use_link_token(session, purpose=TokenPurpose.invitation, raw=raw_token)
    await set_password(session, user=user, password=password)
    return user


# --- magic links -----------------------------------------------------------------------------


async def request_magic_link(
    session: AsyncSession, *, email: str, bucket: str, next: str = "/"
) -> bool:
    """Ask for a sign-in link to be e-mailed (after commit) if the address is an active user.

    Returns whether one was asked for; callers answer the same either way. ``bucket`` (e.g. the
    current minute) folds repeated clicks into one e-mail. ``next`` (a path here) is where the
    link leads once signed in: the page the user was on its way to.
    """
    user = await user_by_email(session, email)
    if user is None or not user.is_active:
        return False
    onward = [] if next == "/" else [next]
    jobs.defer(session, "auth.send_magic_link", user.id, *onward, key=bucket)  # type: ignore[arg-type]
    return True


async def prepare_magic_link(
    session: AsyncSession, *, user_id: int, ttl: timedelta
) -> tuple[User, str] | None:
    user = await session.get(User, user_id)
    if user is None or not user.is_active:
        return None
    raw = await issue_link_token(session, purpose=TokenPurpose.magic_link, ttl=ttl, user_id=user_id)
    return user, raw


async def sign_in_with_link(session: AsyncSession, *, raw_token: str) -> User:
    """Use a magic link once; the user must still be active."""
    token = await use_link_token(session, purpose=TokenPurpose.magic_link, raw=raw_token)
    user = await session.get(User, token.user_id) if token.user_id else None
    if user is None or not user.is_active:
        raise NotFound(_("This link has expired or has already been used."))
    user.last_login_at = utcnow()
    session.add(user)
    await session.flush()
    return user
