"""The partner registry: organisations, what they reach, their contacts, offboarding, privacy."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import col, delete, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from hub import jobs
from hub.areas import service as areas
from hub.audit import service as audit
from hub.auth import service as auth
from hub.errors import Conflict, FieldError, Forbidden, InvalidInput
from hub.i18n import _
from hub.languages import normalise_languages
from hub.models import (
    Area,
    AuditAction,
    Channel,
    NotifyBy,
    Organisation,
    OrganisationArea,
    OrganisationChannel,
    OrganisationKind,
    OrganisationLanguage,
    OrganisationStatus,
    OrgRole,
    Role,
    User,
    utcnow,
)
from hub.text import clean, search_text

MAX_AUDIENCE_ESTIMATE = 100_000_000
# Fields a partner coordinator may change on their own organisation.
PARTNER_EDITABLE = frozenset({"description", "languages", "channels"})


@dataclass
class OrganisationView:
    """An organisation with what it reaches, loaded in a few queries for many organisations."""

    organisation: Organisation
    languages: list[str] = field(default_factory=list)
    area_ids: list[int] = field(default_factory=list)
    channels: dict[Channel, int | None] = field(default_factory=dict)


def is_staff(principal: User) -> bool:
    return principal.role in (Role.admin, Role.officer)


def visible_organisations(principal: User) -> SelectOfScalar[Organisation]:
    """The one place that decides which organisations a principal may see."""
    query = select(Organisation)
    if not is_staff(principal):
        query = query.where(Organisation.id == principal.organisation_id)
    return query


async def get_visible_organisation(
    session: AsyncSession, *, principal: User, organisation_id: int
) -> Organisation | None:
    query = visible_organisations(principal).where(Organisation.id == organisation_id)
    return (await session.exec(query)).first()


async def list_organisations(
    session: AsyncSession,
    *,
    principal: User,
    kind: OrganisationKind | None = None,
    status: OrganisationStatus | None = None,
    area_id: int | None = None,
    language: str | None = None,
    search: str = "",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[OrganisationView], int]:
    query = visible_organisations(principal)
    if kind is not None:
        query = query.where(Organisation.kind == kind)
    if status is not None:
        query = query.where(Organisation.status == status)
    if area_id is not None:
        covered = await areas.expand_areas(session, {area_id})
        query = query.where(
            col(Organisation.id).in_(
                select(OrganisationArea.organisation_id).where(
                    col(OrganisationArea.area_id).in_(covered)
                )
            )
        )
    if language:
        query = query.where(
            col(Organisation.id).in_(
                select(OrganisationLanguage.organisation_id).where(
                    OrganisationLanguage.language == language.strip().lower()
                )
            )
        )
    if search_text(search):
        pattern = f"%{search_text(search).lower()}%"
        query = query.where(
            sa.or_(
                func.lower(col(Organisation.name)).like(pattern),
                func.lower(col(Organisation.description)).like(pattern),
                func.lower(sa.func.coalesce(col(Organisation.external_id), "")).like(pattern),
            )
        )
    total = (await session.exec(select(func.count()).select_from(query.subquery()))).one()
    rows = await session.exec(
        query.order_by(func.lower(col(Organisation.name)), col(Organisation.id))
        .limit(limit)
        .offset(offset)
    )
    return await load_views(session, list(rows.all())), int(total)


async def load_views(
    session: AsyncSession, organisations: list[Organisation]
) -> list[OrganisationView]:
    views = {o.id: OrganisationView(o) for o in organisations}
    ids = list(views)
    if not ids:
        return []
    for row in (
        await session.exec(
            select(OrganisationLanguage)
            .where(col(OrganisationLanguage.organisation_id).in_(ids))
            .order_by(col(OrganisationLanguage.language))
        )
    ).all():
        views[row.organisation_id].languages.append(row.language)
    for area_row in (
        await session.exec(
            select(OrganisationArea)
            .where(col(OrganisationArea.organisation_id).in_(ids))
            .order_by(col(OrganisationArea.area_id))
        )
    ).all():
        views[area_row.organisation_id].area_ids.append(area_row.area_id)
    for channel_row in (
        await session.exec(
            select(OrganisationChannel).where(col(OrganisationChannel.organisation_id).in_(ids))
        )
    ).all():
        views[channel_row.organisation_id].channels[Channel(channel_row.channel)] = (
            channel_row.audience_estimate
        )
    for view in views.values():
        view.channels = dict(
            sorted(view.channels.items(), key=lambda kv: list(Channel).index(kv[0]))
        )
    return [views[o.id] for o in organisations]


async def load_view(session: AsyncSession, organisation: Organisation) -> OrganisationView:
    return (await load_views(session, [organisation]))[0]


async def organisation_by_external_id(
    session: AsyncSession, external_id: str
) -> Organisation | None:
    return (
        await session.exec(select(Organisation).where(Organisation.external_id == external_id))
    ).first()


# --- writing ---------------------------------------------------------------------------------


def _name(value: str | None) -> str:
    name = clean(value, field="name", max_length=200)
    if not name:
        raise InvalidInput(
            _("Give the organisation a name."),
            errors=[FieldError("name", _("Give the organisation a name."))],
        )
    return name


def _check_languages(codes: list[str]) -> list[str]:
    valid, bad = normalise_languages(codes)
    if bad:
        message = _("Not a language code (ISO 639-1, e.g. da, ar, so): %(codes)s") % {
            "codes": ", ".join(bad)
        }
        raise InvalidInput(message, errors=[FieldError("languages", message)])
    return valid


async def _check_areas(session: AsyncSession, area_ids: list[int]) -> list[int]:
    wanted = list(dict.fromkeys(area_ids))
    if not wanted:
        return []
    found = set((await session.exec(select(Area.id).where(col(Area.id).in_(wanted)))).all())
    missing = [a for a in wanted if a not in found]
    if missing:
        message = _("Unknown areas: %(ids)s") % {"ids": ", ".join(map(str, missing))}
        raise InvalidInput(message, errors=[FieldError("area_ids", message)])
    return wanted


def _check_channels(channels: list[tuple[Channel, int | None]]) -> dict[Channel, int | None]:
    result: dict[Channel, int | None] = {}
    for channel, estimate in channels:
        channel = Channel(channel)
        if channel in result:
            message = _("Each channel once: %(channel)s is listed twice.") % {
                "channel": channel.value
            }
            raise InvalidInput(message, errors=[FieldError("channels", message)])
        if estimate is not None and not 0 <= estimate <= MAX_AUDIENCE_ESTIMATE:
            message = _("An audience estimate is a number of people from 0 to 100,000,000.")
            raise InvalidInput(message, errors=[FieldError("channels", message)])
        result[channel] = estimate
    return result


async def _replace_reach(
    session: AsyncSession,
    organisation_id: int,
    *,
    languages: list[str] | None = None,
    area_ids: list[int] | None = None,
    channels: dict[Channel, int | None] | None = None,
) -> None:
    if languages is not None:
        await session.exec(
            delete(OrganisationLanguage).where(
                col(OrganisationLanguage.organisation_id) == organisation_id
            )
        )
        session.add_all(
            OrganisationLanguage(organisation_id=organisation_id, language=code)
            for code in languages
        )
    if area_ids is not None:
        await session.exec(
            delete(OrganisationArea).where(col(OrganisationArea.organisation_id) == organisation_id)
        )
        session.add_all(
            OrganisationArea(organisation_id=organisation_id, area_id=area_id)
            for area_id in area_ids
        )
    if channels is not None:
        await session.exec(
            delete(OrganisationChannel).where(
                col(OrganisationChannel.organisation_id) == organisation_id
            )
        )
        session.add_all(
            OrganisationChannel(
                organisation_id=organisation_id, channel=channel, audience_estimate=estimate
            )
            for channel, estimate in channels.items()
        )
    await session.flush()


async def create_organisation(
    session: AsyncSession,
    *,
    name: str,
    kind: OrganisationKind,
    status: OrganisationStatus = OrganisationStatus.active,
    description: str = "",
    notes: str = "",
    external_id: str | None = None,
    languages: list[str] | None = None,
    area_ids: list[int] | None = None,
    channels: list[tuple[Channel, int | None]] | None = None,
) -> Organisation:
    """Register an organisation with the areas, languages and channels it reaches."""
    name = _name(name)
    description = clean(description, field="description", max_length=4000, multiline=True)
    notes = clean(notes, field="notes", max_length=4000, multiline=True)
    checked_languages = _check_languages(languages or [])
    checked_areas = await _check_areas(session, area_ids or [])
    checked_channels = _check_channels(channels or [])
    external_id = clean(external_id, field="external_id", max_length=100) or None
    if external_id and await organisation_by_external_id(session, external_id):
        message = _("Another organisation has this external id.")
        raise Conflict(message, errors=[FieldError("external_id", message)])
    organisation = Organisation(
        name=name,
        kind=OrganisationKind(kind),
        status=OrganisationStatus(status),
        description=description,
        notes=notes.strip(),
        external_id=external_id,
    )
    session.add(organisation)
    await session.flush()
    await _replace_reach(
        session,
        organisation.id,  # type: ignore[arg-type]
        languages=checked_languages,
        area_ids=checked_areas,
        channels=checked_channels,
    )
    return organisation


async def update_organisation(
    session: AsyncSession, *, principal: User, organisation: Organisation, changes: dict[str, Any]
) -> Organisation:
    """Apply changes; partners only to description, languages and channels of their own."""
    if not is_staff(principal):
        if principal.org_role is not OrgRole.coordinator:
            raise Forbidden(_("Only your organisation's coordinator can change its profile."))
        refused = sorted(set(changes) - PARTNER_EDITABLE)
        if refused:
            message = _("Only the municipality can change: %(fields)s") % {
                "fields": ", ".join(refused)
            }
            raise Forbidden(message)
    if "name" in changes:
        organisation.name = _name(changes["name"])
    if changes.get("kind") is not None:
        organisation.kind = OrganisationKind(changes["kind"])
    for text_field in ("description", "notes"):
        if text_field in changes:
            setattr(
                organisation,
                text_field,
                clean(changes[text_field], field=text_field, max_length=4000, multiline=True),
            )
    if "external_id" in changes:
        external_id = clean(changes["external_id"], field="external_id", max_length=100) or None
        if external_id and external_id != organisation.external_id:
            other = await organisation_by_external_id(session, external_id)
            if other is not None and other.id != organisation.id:
                message = _("Another organisation has this external id.")
                raise Conflict(message, errors=[FieldError("external_id", message)])
        organisation.external_id = external_id
    if changes.get("status") is not None:
        await set_status(session, organisation, OrganisationStatus(changes["status"]))
    await _replace_reach(
        session,
        organisation.id,  # type: ignore[arg-type]
        languages=_check_languages(changes["languages"])
        if changes.get("languages") is not None
        else None,
        area_ids=await _check_areas(session, changes["area_ids"])
        if changes.get("area_ids") is not None
        else None,
        channels=_check_channels(changes["channels"])
        if changes.get("channels") is not None
        else None,
    )
    organisation.updated_at = utcnow()
    session.add(organisation)
    await session.flush()
    return organisation


async def set_status(
    session: AsyncSession, organisation: Organisation, status: OrganisationStatus
) -> None:
    if status is OrganisationStatus.offboarded:
        await offboard_organisation(session, organisation)
        return
    if organisation.status == OrganisationStatus.offboarded:
        organisation.offboarded_at = None
    organisation.status = status
    session.add(organisation)
    await session.flush()
    # Its contact persons stay disabled: an officer re-enables or re-invites those still there.


async def offboard_organisation(session: AsyncSession, organisation: Organisation) -> None:
    """End the partnership: every contact is signed out, their tokens stop, sign-in is closed."""
    await audit.record(
        session,
        AuditAction.partner_offboarded,
        target_type="organisation",
        target_id=organisation.id,
        summary=organisation.name,
    )
    organisation.status = OrganisationStatus.offboarded
    organisation.offboarded_at = utcnow()
    session.add(organisation)
    members = (
        await session.exec(select(User).where(User.organisation_id == organisation.id))
    ).all()
    for member in members:
        if member.is_active:
            await auth.disable_user(session, user=member)
        else:
            await auth.revoke_user_access(session, user_id=member.id)  # type: ignore[arg-type]
    await session.flush()


async def accept_dpa(session: AsyncSession, organisation: Organisation, *, version: str) -> None:
    """Record the data-processing agreement; an invited organisation becomes active."""
    organisation.dpa_accepted_at = utcnow()
    organisation.dpa_version = version
    if organisation.status == OrganisationStatus.invited:
        organisation.status = OrganisationStatus.active
    session.add(organisation)
    await session.flush()


# --- contacts --------------------------------------------------------------------------------


def can_manage_contacts(principal: User, organisation: Organisation) -> bool:
    if is_staff(principal):
        return True
    return (
        principal.organisation_id == organisation.id and principal.org_role is OrgRole.coordinator
    )


async def list_contacts(
    session: AsyncSession, organisation: Organisation, *, principal: User
) -> list[User]:
    """The organisation's contact persons: all of them for officers and the coordinator; a
    member sees only themselves (colleagues' phone numbers are not theirs to read)."""
    query = select(User).where(
        User.organisation_id == organisation.id, col(User.erased_at).is_(None)
    )
    if not can_manage_contacts(principal, organisation):
        query = query.where(User.id == principal.id)
    rows = await session.exec(query.order_by(func.lower(col(User.name)), col(User.email)))
    return list(rows.all())


async def get_visible_contact(
    session: AsyncSession, *, principal: User, contact_id: int
) -> User | None:
    query = select(User).where(User.id == contact_id, User.role == Role.partner)
    if not is_staff(principal):
        query = query.where(User.organisation_id == principal.organisation_id)
        if principal.org_role is not OrgRole.coordinator:
            query = query.where(User.id == principal.id)  # a member: only themselves
    return (await session.exec(query)).first()


async def invite_contact(
    session: AsyncSession,
    *,
    principal: User,
    organisation: Organisation,
    email: str,
    name: str = "",
    phone: str | None = None,
    language: str = "da",
    notify_by: NotifyBy = NotifyBy.email,
    org_role: OrgRole = OrgRole.member,
) -> User:
    """Add a contact person; they get an e-mail to accept the data-processing agreement."""
    if not can_manage_contacts(principal, organisation):
        raise Forbidden(_("Only your organisation's coordinator can add members."))
    if organisation.status == OrganisationStatus.offboarded:
        raise Conflict(_("The organisation is offboarded. Set it active again first."))
    if not is_staff(principal) and org_role is OrgRole.coordinator:
        raise Forbidden(_("Only the municipality can appoint coordinators."))
    languages, bad = normalise_languages([language])
    if bad or not languages:
        message = _("Not a language code (ISO 639-1, e.g. da, ar, so): %(codes)s") % {
            "codes": language
        }
        raise InvalidInput(message, errors=[FieldError("language", message)])
    return await auth.invite_user(
        session,
        email=email,
        name=name,
        role=Role.partner,
        organisation_id=organisation.id,
        language=languages[0],
        phone=phone,
        notify_by=notify_by,
        org_role=org_role,
    )


async def resend_invitation(
    session: AsyncSession, *, principal: User, contact: User, bucket: str
) -> None:
    """Mail a fresh invitation link (the old one stops working) to a contact not signed up yet.

    ``bucket`` (e.g. the current minute) folds repeated clicks into one e-mail.
    """
    organisation = await session.get(Organisation, contact.organisation_id)
    if organisation is None or not can_manage_contacts(principal, organisation):
        raise Forbidden(_("Only your organisation's coordinator can invite members."))
    if not contact.is_active or contact.erased_at is not None:
        raise Conflict(_("This contact person no longer has access."))
    if contact.password_hash:
        raise Conflict(_("This contact person has signed up already; they can sign in."))
    jobs.defer(session, "auth.send_invitation", contact.id, key=bucket)  # type: ignore[arg-type]


async def update_contact(
    session: AsyncSession, *, principal: User, contact: User, changes: dict[str, Any]
) -> User:
    own = principal.id == contact.id
    # A coordinator looks after the members; other coordinators are the municipality's.
    coordinator = (
        not is_staff(principal)
        and principal.org_role is OrgRole.coordinator
        and principal.organisation_id == contact.organisation_id
        and contact.org_role is not OrgRole.coordinator
    )
    if not (is_staff(principal) or own or coordinator):
        raise Forbidden(_("You may change only your own contact details."))
    if "org_role" in changes and not is_staff(principal):
        raise Forbidden(_("Only the municipality can appoint coordinators."))
    if contact.erased_at is not None:
        raise Conflict(_("This contact has been erased."))
    if "name" in changes and changes["name"] is not None:
        contact.name = clean(changes["name"], field="name", max_length=200)
    if "phone" in changes:
        contact.phone = clean(changes["phone"], field="phone", max_length=40) or None
    if changes.get("language") is not None:
        languages, bad = normalise_languages([changes["language"]])
        if bad or not languages:
            message = _("Not a language code (ISO 639-1, e.g. da, ar, so): %(codes)s") % {
                "codes": changes["language"]
            }
            raise InvalidInput(message, errors=[FieldError("language", message)])
        contact.language = languages[0]
    if changes.get("notify_by") is not None:
        contact.notify_by = NotifyBy(changes["notify_by"])
    if changes.get("org_role") is not None:
        contact.org_role = OrgRole(changes["org_role"])
    session.add(contact)
    await session.flush()
    return contact


async def remove_contact(session: AsyncSession, *, principal: User, contact: User) -> None:
    """Take a member out of the organisation's access (the account is disabled at once)."""
    organisation = await session.get(Organisation, contact.organisation_id)
    if organisation is None or not can_manage_contacts(principal, organisation):
        raise Forbidden(_("Only your organisation's coordinator can remove members."))
    if principal.id == contact.id:
        raise Conflict(_("You cannot remove yourself. Ask the municipality."))
    if not is_staff(principal) and contact.org_role is OrgRole.coordinator:
        raise Forbidden(_("Only the municipality can remove a coordinator."))
    await auth.disable_user(session, user=contact)


async def export_contact(session: AsyncSession, contact: User) -> dict[str, Any]:
    """Everything the hub holds about a contact person (the right of access)."""
    organisation = await session.get(Organisation, contact.organisation_id)
    tokens = await auth.list_api_tokens(session, user=contact)
    sessions = await auth.list_sessions(session, user=contact)

    def iso(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "contact": {
            "id": contact.id,
            "email": contact.email,
            "name": contact.name,
            "phone": contact.phone,
            "language": contact.language,
            "notify_by": contact.notify_by,
            "role": contact.role,
            "org_role": contact.org_role,
            "is_active": contact.is_active,
            "created_at": iso(contact.created_at),
            "last_login_at": iso(contact.last_login_at),
            "disabled_at": iso(contact.disabled_at),
            "erased_at": iso(contact.erased_at),
        },
        "organisation": {"id": organisation.id, "name": organisation.name}
        if organisation
        else None,
        "sign_in_sessions": [
            {
                "created_at": iso(s.created_at),
                "expires_at": iso(s.expires_at),
                "revoked_at": iso(s.revoked_at),
            }
            for s in sessions
        ],
        "api_tokens": [
            {
                "name": t.name,
                "prefix": t.prefix,
                "created_at": iso(t.created_at),
                "last_used_at": iso(t.last_used_at),
                "revoked_at": iso(t.revoked_at),
            }
            for t in tokens
        ],
    }


async def erase_contact(session: AsyncSession, contact: User) -> None:
    """Remove the personal data of a contact; what they did stays as anonymous history."""
    if contact.role is not Role.partner:
        raise InvalidInput(_("Only partner contacts are erased this way."))
    await auth.revoke_user_access(session, user_id=contact.id)  # type: ignore[arg-type]
    await auth.forget_user_secrets(session, user_id=contact.id)  # type: ignore[arg-type]
    contact.email = f"erased-{contact.id}@erased.invalid"
    contact.name = ""
    contact.phone = None
    contact.password_hash = None
    contact.notify_by = NotifyBy.none
    contact.is_active = False
    contact.disabled_at = contact.disabled_at or utcnow()
    contact.erased_at = utcnow()
    session.add(contact)
    await audit.forget_person(session, user_id=contact.id)  # type: ignore[arg-type]
    await audit.record(
        session, AuditAction.contact_erased, target_type="user", target_id=contact.id
    )
    await session.flush()


async def contact_counts(session: AsyncSession, organisation_ids: list[int]) -> dict[int, int]:
    if not organisation_ids:
        return {}
    rows = await session.exec(
        select(User.organisation_id, func.count())
        .where(col(User.organisation_id).in_(organisation_ids), col(User.is_active).is_(True))
        .group_by(col(User.organisation_id))
    )
    counts: dict[int, int] = defaultdict(int)
    for organisation_id, count in rows.all():
        counts[organisation_id] = int(count)  # type: ignore[index]
    return counts
