"""Sign-in pages: sessions, CSRF, rate limits, the setup link, invitations."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlmodel import select

from hub.auth import service as auth
from hub.config import Settings
from hub.db import Database, unit_of_work
from hub.models import ApiToken, OneTimeToken, Role, TokenPurpose, User, UserSession
from tests.factories import (
    PASSWORD,
    csrf_from,
    csrf_token,
    login,
    make_contact,
    make_partner,
    make_user,
)

EN = {"Accept-Language": "en"}


async def test_login_sets_a_hardened_session_cookie(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await make_user(db)
    response = await login(client, user.email)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("hub_session=")
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # the test base URL is plain http
    dashboard = await client.get("/")
    assert dashboard.status_code == 200
    assert user.email in dashboard.text
    assert dashboard.headers["cache-control"] == "no-store"


async def test_session_cookie_is_secure_when_the_base_url_is_https(
    settings: Settings, db: Database
) -> None:
    from asgi_lifespan import LifespanManager

    from hub.main import create_app

    user = await make_user(db)
    app = create_app(settings.model_copy(update={"base_url": "https://hub.example.org"}))
    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as c:
            response = await login(c, user.email)
    assert response.status_code == 303
    assert "secure" in response.headers["set-cookie"].lower()
    assert "max-age=31536000" in response.headers["strict-transport-security"]


async def test_login_issues_a_new_session_id_and_revokes_the_old_one(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await make_user(db)
    await login(client, user.email)
    first = client.cookies["hub_session"]
    await login(client, user.email)  # signed in again with the first cookie still sent
    second = client.cookies["hub_session"]
    assert first != second
    async with unit_of_work(db, None) as session:
        assert await auth.session_user(session, first) is None
        assert (await auth.session_user(session, second)).id == user.id  # type: ignore[union-attr]


async def test_unknown_user_and_wrong_password_get_the_same_answer(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await make_user(db)
    wrong = await login(client, user.email, "not the password at all")
    unknown = await login(client, "nobody@example.org", "not the password at all")
    assert wrong.status_code == unknown.status_code == 400
    assert "The e-mail address or the password is wrong." in wrong.text
    strip = lambda html: html.replace(user.email, "X").replace("nobody@example.org", "X")  # noqa: E731
    assert strip(csrf_free(wrong.text)) == strip(csrf_free(unknown.text))
    assert "hub_session" not in client.cookies


def csrf_free(html: str) -> str:
    token = csrf_from(html)
    return html.replace(token, "")


@pytest.mark.parametrize("token", [None, "", "forged", "ålø∂-not-ascii"])
async def test_login_without_a_valid_csrf_token_is_refused(
    client: httpx.AsyncClient, db: Database, token: str | None
) -> None:
    user = await make_user(db)
    await client.get("/login")  # has the CSRF cookie, but not the form's token
    data = {"email": user.email, "password": PASSWORD}
    if token is not None:
        data["csrf_token"] = token
    response = await client.post("/login", data=data)
    assert response.status_code == 403
    assert "hub_session" not in client.cookies


async def test_csrf_token_of_another_browser_does_not_work(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, db: Database
) -> None:
    user = await make_user(db)
    foreign = await csrf_token(anon_client)
    await client.get("/login")
    response = await client.post(
        "/login", data={"email": user.email, "password": PASSWORD, "csrf_token": foreign}
    )
    assert response.status_code == 403


async def test_csrf_token_is_bound_to_the_session(client: httpx.AsyncClient, db: Database) -> None:
    user = await make_user(db)
    pre_login_token = await csrf_token(client)
    await login(client, user.email)
    # The token from before sign-in no longer protects forms of the signed-in session.
    response = await client.post("/logout", data={"csrf_token": pre_login_token})
    assert response.status_code == 403
    response = await client.post("/logout", data={"csrf_token": await csrf_token(client, "/")})
    assert response.status_code == 303


async def test_logout_revokes_the_session_on_the_server(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, db: Database
) -> None:
    user = await make_user(db)
    await login(client, user.email)
    stolen = client.cookies["hub_session"]
    await client.post("/logout", data={"csrf_token": await csrf_token(client, "/")})
    anon_client.cookies.set("hub_session", stolen)
    response = await anon_client.get("/")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


async def test_signed_out_pages_redirect_to_login_with_next(client: httpx.AsyncClient) -> None:
    response = await client.get("/account/tokens")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/account/tokens"


async def test_revoking_an_api_token_is_confirmed_first(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await make_user(db)
    other = await make_user(db)
    async with unit_of_work(db, None) as session:
        token, _raw = await auth.create_api_token(session, user=user, name="Regneark")
        foreign, _raw = await auth.create_api_token(session, user=other, name="Fremmed")
    await login(client, user.email)
    page = await client.get("/account/tokens", headers=EN)
    confirm_url = f"/account/tokens/{token.id}/revoke"
    assert f'href="http://testserver{confirm_url}"' in page.text
    assert "<form" not in page.text.split("Your tokens")[1]  # no button that revokes at once

    confirm = await client.get(confirm_url, headers=EN)
    assert confirm.status_code == 200
    assert "Revoke the API token" in confirm.text and "Regneark" in confirm.text
    assert 'href="http://testserver/account/tokens">Cancel' in confirm.text
    async with unit_of_work(db, None, write=False) as session:
        assert (await session.get(ApiToken, token.id)).revoked_at is None  # type: ignore[union-attr]
    refused = await client.get(f"/account/tokens/{foreign.id}/revoke", headers=EN)
    assert refused.status_code == 404

    revoked = await client.post(confirm_url, data={"csrf_token": csrf_from(confirm.text)})
    assert revoked.status_code == 303
    assert revoked.headers["location"] == "/account/tokens?done=token-revoked"
    page = await client.get(revoked.headers["location"], headers=EN)
    assert "The token is revoked and no longer works." in page.text
    assert (await client.get(confirm_url)).status_code == 404  # nothing left to revoke


async def test_login_redirects_only_to_local_paths(client: httpx.AsyncClient, db: Database) -> None:
    user = await make_user(db)
    token = await csrf_token(client)
    response = await client.post(
        "/login",
        data={
            "email": user.email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/steal",
        },
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_login_is_rate_limited_per_account(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    user = await make_user(db)
    for _ in range(settings.login_max_failures_per_account):
        assert (await login(client, user.email, "wrong password!")).status_code == 400
    # Now even the right password is refused for a while, from any client...
    blocked = await login(anon_client, user.email, PASSWORD)
    assert blocked.status_code == 429
    assert "Too many failed sign-in attempts" in blocked.text
    # ...and an unknown account under the same treatment looks exactly the same.
    for _ in range(settings.login_max_failures_per_account):
        await login(client, "ghost@example.org", "wrong password!")
    ghost = await login(anon_client, "ghost@example.org", PASSWORD)
    assert ghost.status_code == 429


async def test_login_is_rate_limited_per_client(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    user = await make_user(db)
    for i in range(settings.login_max_failures_per_client):
        await login(client, f"spray-{i}@example.org", "wrong password!")
    response = await login(client, user.email, PASSWORD)
    assert response.status_code == 429


async def test_disabled_user_cannot_sign_in_and_loses_sessions(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await make_user(db)
    await login(client, user.email)
    async with unit_of_work(db, None) as session:
        target = await session.get(User, user.id)
        assert target is not None
        await auth.disable_user(session, user=target)
    assert (await client.get("/")).status_code == 303
    assert (await login(client, user.email)).status_code == 400


async def test_language_picker_switches_the_ui(client: httpx.AsyncClient) -> None:
    page = await client.get("/login", headers={"Accept-Language": "en"})
    assert '<html lang="en"' in page.text
    response = await client.post(
        "/language", data={"language": "da", "next": "/login", "csrf_token": csrf_from(page.text)}
    )
    assert response.status_code == 303
    danish = await client.get("/login", headers={"Accept-Language": "en"})
    assert '<html lang="da"' in danish.text
    assert "Log ind" in danish.text


async def test_accept_language_chooses_the_language_without_a_picker(
    client: httpx.AsyncClient,
) -> None:
    danish = await client.get("/login", headers={"Accept-Language": "da-DK,da;q=0.9,en;q=0.5"})
    english = await client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="da"' in danish.text and "Adgangskode" in danish.text
    assert '<html lang="en"' in english.text and "Password" in english.text


# --- the setup link -------------------------------------------------------------------------


async def _setup_link(db: Database, settings: Settings) -> str:
    async with unit_of_work(db, None) as session:
        link = await auth.create_setup_link(session, base_url="", ttl=timedelta(hours=1))
    assert link is not None
    return link


async def test_setup_link_creates_the_first_admin_once(
    client: httpx.AsyncClient, anon_client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    path = await _setup_link(db, settings)
    form = await client.get(path)
    assert form.status_code == 200
    response = await client.post(
        path,
        data={
            "name": "Ada Admin",
            "email": "Ada@Example.org",
            "password": "a good long password",
            "password_again": "a good long password",
            "csrf_token": csrf_from(form.text),
        },
    )
    assert response.status_code == 303
    me = await client.get("/")
    assert "Ada Admin" in me.text
    async with unit_of_work(db, None) as session:
        admin = await auth.user_by_email(session, "ada@example.org")
        assert admin is not None and admin.role is Role.admin
        assert admin.password_hash and admin.password_hash.startswith("$argon2id$")
    again = await anon_client.get(path)
    assert again.status_code == 404
    # With a user in place, no new setup link is handed out.
    async with unit_of_work(db, None) as session:
        assert await auth.create_setup_link(session, base_url="", ttl=timedelta(hours=1)) is None


async def test_setup_form_errors_show_beside_fields_and_keep_the_link(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    path = await _setup_link(db, settings)
    form = await client.get(path)
    response = await client.post(
        path,
        data={
            "name": "Ada",
            "email": "not-an-address",
            "password": "a good long password",
            "password_again": "a good long password",
            "csrf_token": csrf_from(form.text),
        },
    )
    assert response.status_code == 400
    assert 'id="email-error"' in response.text
    assert 'value="Ada"' in response.text  # input kept
    async with unit_of_work(db, None) as session:
        tokens = (await session.exec(select(OneTimeToken))).all()
        assert [t.used_at for t in tokens] == [None]  # nothing half-written: the link still works
        assert (await session.exec(select(User))).all() == []


async def test_expired_setup_link_is_refused(client: httpx.AsyncClient, db: Database) -> None:
    async with unit_of_work(db, None) as session:
        raw = await auth.issue_link_token(
            session, purpose=TokenPurpose.setup, ttl=timedelta(seconds=-1)
        )
    assert (await client.get(f"/setup/{raw}")).status_code == 404


async def test_sessions_are_stored_hashed(client: httpx.AsyncClient, db: Database) -> None:
    user = await make_user(db)
    await login(client, user.email)
    raw = client.cookies["hub_session"]
    async with unit_of_work(db, None) as session:
        rows = (await session.exec(select(UserSession))).all()
    assert len(rows) == 1
    assert rows[0].token_hash != raw and raw not in rows[0].token_hash
    assert rows[0].expires_at.tzinfo is not None


async def test_api_tokens_are_in_the_staffs_menu_and_on_a_partners_organisation_page(
    client: httpx.AsyncClient, db: Database
) -> None:
    tokens_link = 'href="http://testserver/account/tokens"'
    officer = await make_user(db, role=Role.officer)
    await login(client, officer.email)
    dashboard = await client.get("/", headers=EN)
    nav = dashboard.text.split("<nav", 1)[1].split("</nav>", 1)[0]
    assert tokens_link in nav

    client.cookies.clear()
    volunteer = await make_contact(db, await make_partner(db, name="Somali Kvindeforening"))
    await login(client, volunteer.email)
    inbox = await client.get("/", headers=EN)
    assert inbox.status_code == 200
    assert tokens_link not in inbox.text.split("<nav", 1)[1].split("</nav>", 1)[0]
    organisation = await client.get("/organisation", headers=EN)
    assert organisation.status_code == 200
    section = organisation.text.split('id="api"', 1)[1].split("</section>", 1)[0]
    assert tokens_link in section and "Your own systems" in section
    assert (await client.get("/account/tokens", headers=EN)).status_code == 200
