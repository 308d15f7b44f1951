"""Who is asking: the signed-in user of a page, or the bearer of an API token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hub.auth import csrf, service
from hub.auth.csrf import SESSION_COOKIE
from hub.context import ACTOR, Actor
from hub.dependencies import SAFE_METHODS, SessionDep
from hub.errors import AgreementRequired, Forbidden, NotAuthenticated
from hub.i18n import _
from hub.models import OrgRole, Role, User


@dataclass(frozen=True)
class SignedIn:
    """What layouts show of the signed-in user. A plain copy, not the ORM object: an error
    page renders after the session rolled back, when the ORM object can no longer load."""

    id: int
    email: str
    name: str
    role: Role
    organisation_id: int | None
    org_role: OrgRole | None = None

    @classmethod
    def of(cls, user: User) -> SignedIn:
        return cls(
            id=user.id or 0,
            email=user.email,
            name=user.name,
            role=Role(user.role),
            organisation_id=user.organisation_id,
            org_role=OrgRole(user.org_role) if user.org_role else None,
        )


bearer_scheme = HTTPBearer(auto_error=False, description="An API token made on the account page")


async def optional_page_user(request: Request, session: SessionDep) -> User | None:
    raw = request.cookies.get(SESSION_COOKIE, "")
    user = await service.session_user(session, raw) if raw else None
    request.state.user = SignedIn.of(user) if user else None
    if user is not None:
        ACTOR.set(Actor(user.id, user.email))  # for the audit log; reset after the request
    return user


OptionalUserDep = Annotated[User | None, Depends(optional_page_user)]


async def signed_in_user(user: OptionalUserDep) -> User:
    if user is None:
        raise NotAuthenticated(_("Sign in to continue."))
    return user


SignedInUserDep = Annotated[User, Depends(signed_in_user)]


async def _check_agreement(request: Request, session: SessionDep, user: User) -> None:
    version = request.state.hub.settings.dpa_version
    if await service.agreement_missing(session, user=user, version=version):
        raise AgreementRequired(
            _("Your organisation must accept the data-processing agreement before you go on.")
        )


async def page_user(request: Request, session: SessionDep, user: SignedInUserDep) -> User:
    """The signed-in user; a partner only once their organisation accepted the agreement."""
    await _check_agreement(request, session, user)
    return user


PageUserDep = Annotated[User, Depends(page_user)]


def page_role(*roles: Role) -> Callable[[User], Awaitable[User]]:
    async def check(user: PageUserDep) -> User:
        if user.role not in roles:
            raise Forbidden(_("You do not have access to this page."))
        return user

    return check


AdminPageDep = Annotated[User, Depends(page_role(Role.admin))]
StaffPageDep = Annotated[User, Depends(page_role(Role.admin, Role.officer))]


async def api_user(
    request: Request,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> User:
    """A bearer token, or the page session (then unsafe methods need the CSRF header)."""
    challenge = {"WWW-Authenticate": "Bearer"}
    if request.headers.get("authorization"):
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise NotAuthenticated(
                _("Use an API token: Authorization: Bearer <token>."), headers=challenge
            )
        user = await service.token_user(
            session,
            credentials.credentials.strip(),
            record_use=request.method not in SAFE_METHODS,
        )
        if user is None:
            raise NotAuthenticated(
                _("The API token is unknown, expired or revoked."), headers=challenge
            )
    else:
        raw = request.cookies.get(SESSION_COOKIE, "")
        found = await service.session_user(session, raw) if raw else None
        if found is None:
            raise NotAuthenticated(_("Sign in or send an API token."), headers=challenge)
        if request.method not in SAFE_METHODS:
            csrf.verify(request, request.headers.get(csrf.CSRF_HEADER))
        user = found
    request.state.user = SignedIn.of(user)
    ACTOR.set(Actor(user.id, user.email))  # for the audit log; reset after the request
    await _check_agreement(request, session, user)
    return user


ApiUserDep = Annotated[User, Depends(api_user)]


def api_role(*roles: Role) -> Callable[[User], Awaitable[User]]:
    async def check(user: ApiUserDep) -> User:
        if user.role not in roles:
            raise Forbidden(_("Your role may not do this."))
        return user

    return check


ApiAdminDep = Annotated[User, Depends(api_role(Role.admin))]
ApiStaffDep = Annotated[User, Depends(api_role(Role.admin, Role.officer))]
ApiPartnerDep = Annotated[User, Depends(api_role(Role.partner))]
