"""Sign-in pages: sessions, CSRF, rate limits, setup link."""

from __future__ import annotations

import httpx

from hub.db import Database
from tests.factories import login, make_user


async def test_login_sets_a_hardened_session_cookie(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await make_user(db)
    response = await login(client, user.email)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("hub_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # the test base URL is plain http
    dashboard = await client.get("/")
    assert dashboard.status_code == 200
    assert user.email in dashboard.text
