"""Sign-in, sign-out, first setup, invitations, the language picker and the token page."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from hub import i18n
from hub.auth import service
from hub.auth.csrf import SESSION_COOKIE, require_csrf
from hub.auth.dependencies import OptionalUserDep, PageUserDep
from hub.auth.ratelimit import LoginLimiter, allow_link_request
from hub.db import rollback
from hub.dependencies import RedisDep, SessionDep, SettingsDep
from hub.errors import HubError, NotFound, TooManyRequests
from hub.forms import field_errors, safe_next, see_other
from hub.i18n import _
from hub.models import Organisation, Role, TokenPurpose, User
from hub.partners import service as partners
from hub.schemas import IdPath
from hub.templating import render

router = APIRouter(include_in_schema=False)
Csrf = Depends(require_csrf)
FormStr = Annotated[str, Form()]


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _sign_in(request: Request, response: Response, raw_session: str, hours: int) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        raw_session,
        max_age=hours * 3600,
        httponly=True,
        samesite="lax",
        secure=request.state.hub.settings.secure_cookies,
        path="/",
    )


@router.get("/login", name="login_form")
async def login_form(request: Request, user: OptionalUserDep, next: str = "/") -> Response:
    if user is not None:
        return see_other(safe_next(next))
    return render(request, "auth/login.html", {"next": safe_next(next), "email": "", "errors": {}})


@router.post("/login", name="login", dependencies=[Csrf])
async def login(
    request: Request,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    email: FormStr = "",
    password: FormStr = "",
    next: FormStr = "/",
) -> Response:
    limiter = LoginLimiter(redis, settings)
    client = _client(request)
    context = {"next": safe_next(next), "email": email}
    try:
        await limiter.check(email=email, client=client)
    except TooManyRequests as exc:
        return render(
            request,
            "auth/login.html",
            {**context, "errors": {"__all__": exc.detail}},
            status_code=429,
        )
    user = await service.authenticate(session, email=email, password=password)
    if user is None:
        await limiter.record_failure(email=email, client=client)
        # One message for an unknown address and a wrong password.
        errors = {"__all__": _("The e-mail address or the password is wrong.")}
        return render(request, "auth/login.html", {**context, "errors": errors}, status_code=400)
    await limiter.reset(email=email)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await service.end_session(session, old)
    raw = await service.start_session(session, user=user, hours=settings.session_hours)
    response = see_other(safe_next(next))
    _sign_in(request, response, raw, settings.session_hours)
    return response


@router.post("/logout", name="logout", dependencies=[Csrf])
async def logout(request: Request, session: SessionDep) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        await service.end_session(session, raw)
    response = see_other("/login?done=signed-out")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/language", name="set_language", dependencies=[Csrf])
async def set_language(request: Request, language: FormStr = "", next: FormStr = "/") -> Response:
    response = see_other(safe_next(next))
    if language in i18n.LANGUAGES:
        response.set_cookie(
            i18n.LANGUAGE_COOKIE,
            language,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=request.state.hub.settings.secure_cookies,
            path="/",
        )
    return response


# --- sign-in by e-mailed link ----------------------------------------------------------------


@router.post("/login/link", name="request_magic_link", dependencies=[Csrf])
async def request_magic_link(
    request: Request,
    session: SessionDep,
    redis: RedisDep,
    settings: SettingsDep,
    email: FormStr = "",
    next: FormStr = "/",
) -> Response:
    email = email.strip()
    target = safe_next(next)
    if not email:
        errors = {"__all__": _("Enter your e-mail address to get a sign-in link.")}
        return render(
            request,
            "auth/login.html",
            {"next": target, "email": "", "errors": errors},
            status_code=400,
        )
    if await allow_link_request(redis, settings, email=email):
        bucket = str(int(time.time() // 60))  # repeated clicks in a minute: one e-mail
        await service.request_magic_link(session, email=email, bucket=bucket, next=target)
    # The same answer whether or not the address is known (or throttled).
    return render(
        request,
        "auth/magic_link_sent.html",
        {"email": email, "minutes": settings.magic_link_minutes},
    )


@router.get("/login/link/{token}", name="magic_link_form")
async def magic_link_form(
    request: Request, token: str, session: SessionDep, next: str = "/"
) -> Response:
    # A GET never signs in: mail scanners that open links must not use them up.
    found = await service.peek_link_token(session, purpose=TokenPurpose.magic_link, raw=token)
    if found is None:
        return render(request, "auth/link_expired.html", status_code=404)
    context = {"token": token, "next": safe_next(next)}
    response = render(request, "auth/magic_link_confirm.html", context)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@router.post("/login/link/{token}", name="magic_link_sign_in", dependencies=[Csrf])
async def magic_link_sign_in(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    next: FormStr = "/",
) -> Response:
    try:
        user = await service.sign_in_with_link(session, raw_token=token)
    except HubError:
        await rollback(session)
        return render(request, "auth/link_expired.html", status_code=404)
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await service.end_session(session, old)
    return await _signed_in_redirect(
        request, session, settings.session_hours, user, safe_next(next)
    )


# --- first admin -----------------------------------------------------------------------------


@router.get("/setup/{token}", name="setup_form")
async def setup_form(request: Request, token: str, session: SessionDep) -> Response:
    found = await service.peek_link_token(session, purpose=TokenPurpose.setup, raw=token)
    if found is None:
        return render(request, "auth/link_expired.html", status_code=404)
    return render(request, "auth/setup.html", {"token": token, "form": {}, "errors": {}})


@router.post("/setup/{token}", name="setup", dependencies=[Csrf])
async def setup(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    name: FormStr = "",
    email: FormStr = "",
    password: FormStr = "",
    password_again: FormStr = "",
) -> Response:
    form = {"name": name, "email": email}
    if password != password_again:
        errors = {"password_again": _("The two passwords are not the same.")}
        return render(
            request,
            "auth/setup.html",
            {"token": token, "form": form, "errors": errors},
            status_code=400,
        )
    try:
        user = await service.create_first_admin(
            session, raw_token=token, email=email, name=name, password=password
        )
    except HubError as exc:
        await rollback(session)
        if exc.status == 404:
            return render(request, "auth/link_expired.html", status_code=404)
        return render(
            request,
            "auth/setup.html",
            {"token": token, "form": form, "errors": field_errors(exc)},
            status_code=400,
        )
    return await _signed_in_redirect(
        request, session, settings.session_hours, user, "/?done=welcome"
    )


async def _signed_in_redirect(
    request: Request, session: SessionDep, hours: int, user: User, target: str
) -> Response:
    raw = await service.start_session(session, user=user, hours=hours)
    response = see_other(target)
    _sign_in(request, response, raw, hours)
    return response


# --- invitations -----------------------------------------------------------------------------


@router.get("/invitation/{token}", name="invitation_form")
async def invitation_form(request: Request, token: str, session: SessionDep) -> Response:
    found = await service.peek_link_token(session, purpose=TokenPurpose.invitation, raw=token)
    invited = await session.get(User, found.user_id) if found and found.user_id else None
    if invited is None:
        return render(request, "auth/link_expired.html", status_code=404)
    dpa_version = request.state.hub.settings.dpa_version
    return render(
        request,
        "auth/invitation.html",
        {"token": token, "invited": invited, "errors": {}, "dpa_version": dpa_version},
    )


@router.post("/invitation/{token}", name="accept_invitation", dependencies=[Csrf])
async def accept_invitation(
    request: Request,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    password: FormStr = "",
    password_again: FormStr = "",
    accept_dpa: FormStr = "",
) -> Response:
    found = await service.peek_link_token(session, purpose=TokenPurpose.invitation, raw=token)
    invited = await session.get(User, found.user_id) if found and found.user_id else None
    if invited is None:
        return render(request, "auth/link_expired.html", status_code=404)
    context = {"token": token, "invited": invited, "dpa_version": settings.dpa_version}
    needs_dpa = invited.role is Role.partner
    if needs_dpa and accept_dpa != "yes":
        errors = {"accept_dpa": _("Accept the data-processing agreement to continue.")}
        return render(
            request, "auth/invitation.html", {**context, "errors": errors}, status_code=400
        )
    if password != password_again:
        errors = {"password_again": _("The two passwords are not the same.")}
        return render(
            request, "auth/invitation.html", {**context, "errors": errors}, status_code=400
        )
    try:
        user = await service.accept_invitation(session, raw_token=token, password=password)
    except HubError as exc:
        await rollback(session)
        return render(
            request,
            "auth/invitation.html",
            {**context, "errors": field_errors(exc)},
            status_code=400,
        )
    if needs_dpa and user.organisation_id is not None:
        organisation = await session.get(Organisation, user.organisation_id)
        if organisation is not None:
            await partners.accept_dpa(session, organisation, version=settings.dpa_version)
    return await _signed_in_redirect(
        request, session, settings.session_hours, user, "/?done=welcome"
    )


# --- API tokens ------------------------------------------------------------------------------


@router.get("/account/tokens", name="tokens_page")
async def tokens_page(request: Request, user: PageUserDep, session: SessionDep) -> Response:
    tokens = await service.list_api_tokens(session, user=user)
    return render(
        request, "auth/tokens.html", {"tokens": tokens, "new_token": None, "errors": {}, "name": ""}
    )


@router.post("/account/tokens", name="create_token_page", dependencies=[Csrf])
async def create_token_page(
    request: Request, user: PageUserDep, session: SessionDep, name: FormStr = ""
) -> Response:
    try:
        _token, raw = await service.create_api_token(session, user=user, name=name)
    except HubError as exc:
        await rollback(session)
        tokens = await service.list_api_tokens(session, user=user)
        return render(
            request,
            "auth/tokens.html",
            {"tokens": tokens, "new_token": None, "errors": field_errors(exc), "name": name},
            status_code=400,
        )
    tokens = await service.list_api_tokens(session, user=user)
    # Shown on this response only; a reload shows the list without it.
    return render(
        request,
        "auth/tokens.html",
        {"tokens": tokens, "new_token": raw, "errors": {}, "name": ""},
        status_code=201,
    )


@router.get("/account/tokens/{token_id}/revoke", name="confirm_revoke_token_page")
async def confirm_revoke_token_page(
    request: Request, token_id: IdPath, user: PageUserDep, session: SessionDep
) -> Response:
    """Ask first: a program somewhere may depend on the token, and revoking cannot be undone."""
    tokens = await service.list_api_tokens(session, user=user)
    token = next((t for t in tokens if t.id == token_id and t.revoked_at is None), None)
    if token is None:
        raise NotFound(_("No such token."))
    return render(request, "auth/confirm_revoke.html", {"token": token})


@router.post("/account/tokens/{token_id}/revoke", name="revoke_token_page", dependencies=[Csrf])
async def revoke_token_page(token_id: IdPath, user: PageUserDep, session: SessionDep) -> Response:
    await service.revoke_api_token(session, user=user, token_id=token_id)
    return see_other("/account/tokens?done=token-revoked")
