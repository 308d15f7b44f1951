"""The JSON API's authentication: bearer tokens, problem+json, the session fallback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlmodel import select

from hub.auth import service as auth
from hub.db import Database, unit_of_work
from hub.models import ApiToken, Role, User
from tests.factories import api_token, bearer, csrf_token, login, make_user


async def test_token_from_the_page_calls_the_api(client: httpx.AsyncClient, db: Database) -> None:
    user = await make_user(db, role=Role.admin)
    await login(client, user.email)
    page = await client.post(
        "/account/tokens", data={"name": "reporting", "csrf_token": await csrf_token(client, "/")}
    )
    assert page.status_code == 201
    raw = page.text.split('<code id="new-token">')[1].split("</code>")[0]
    assert raw.startswith("hub_")
    anonymous = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
    async with anonymous:
        me = await anonymous.get("/api/v1/me", headers=bearer(raw))
    assert me.status_code == 200
    assert me.json()["email"] == user.email and me.json()["role"] == "admin"
    # Shown once: the list afterwards holds only the prefix.
    listing = await client.get("/account/tokens")
    assert raw not in listing.text and raw[:10] in listing.text


async def test_tokens_are_stored_hashed(db: Database, client: httpx.AsyncClient) -> None:
    user = await make_user(db)
    raw = await api_token(client, db, user)
    async with unit_of_work(db, None) as session:
        stored = (await session.exec(select(ApiToken))).one()
    assert raw not in stored.token_hash and stored.prefix == raw[:10]


async def test_create_list_and_revoke_tokens_over_the_api(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await make_user(db)
    first = await api_token(client, db, user)
    created = await client.post("/api/v1/tokens", json={"name": "second"}, headers=bearer(first))
    assert created.status_code == 201
    body = created.json()
    second = body["token"]
    listed = await client.get("/api/v1/tokens", headers=bearer(second))
    assert [t["name"] for t in listed.json()] == ["second", "test"]
    assert all("token" not in t for t in listed.json())
    revoked = await client.delete(f"/api/v1/tokens/{body['id']}", headers=bearer(first))
    assert revoked.status_code == 204
    refused = await client.get("/api/v1/me", headers=bearer(second))
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["www-authenticate"] == "Bearer"
    assert refused.json()["detail"] == "The API token is unknown, expired or revoked."
    assert (await client.get("/api/v1/me", headers=bearer(first))).status_code == 200


async def test_revoking_someone_elses_token_is_not_found(
    client: httpx.AsyncClient, db: Database
) -> None:
    alice = await make_user(db)
    bob = await make_user(db)
    await api_token(client, db, alice)
    async with unit_of_work(db, None) as session:
        alice_token = (await session.exec(select(ApiToken))).one()
    bob_raw = await api_token(client, db, bob)
    response = await client.delete(f"/api/v1/tokens/{alice_token.id}", headers=bearer(bob_raw))
    assert response.status_code == 404


async def test_expired_token_is_refused(client: httpx.AsyncClient, db: Database) -> None:
    user = await make_user(db)
    async with unit_of_work(db, None) as session:
        target = await session.get(User, user.id)
        assert target is not None
        token, raw = await auth.create_api_token(
            session, user=target, name="short", expires_at=datetime.now(UTC) + timedelta(hours=1)
        )
        token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
        session.add(token)
    assert (await client.get("/api/v1/me", headers=bearer(raw))).status_code == 401


async def test_disabling_a_user_stops_their_tokens(client: httpx.AsyncClient, db: Database) -> None:
    user = await make_user(db)
    raw = await api_token(client, db, user)
    async with unit_of_work(db, None) as session:
        target = await session.get(User, user.id)
        assert target is not None
        await auth.disable_user(session, user=target)
    assert (await client.get("/api/v1/me", headers=bearer(raw))).status_code == 401


async def test_missing_and_malformed_credentials_get_problem_json(
    client: httpx.AsyncClient,
) -> None:
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, bearer("hub_nonsense")):
        response = await client.get("/api/v1/me", headers=headers)
        assert response.status_code == 401
        problem = response.json()
        assert response.headers["content-type"] == "application/problem+json"
        assert problem["status"] == 401 and problem["type"] == "/problems/not-authenticated"
        assert problem["instance"] == "/api/v1/me"


async def test_bad_input_is_problem_json_with_field_errors(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await make_user(db)
    raw = await api_token(client, db, user)
    response = await client.post(
        "/api/v1/tokens", json={"name": "", "surprise": 1}, headers=bearer(raw)
    )
    assert response.status_code == 422
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["title"] == "Invalid input"
    fields = {e["field"] for e in problem["errors"]}
    assert fields == {"body.name", "body.surprise"}
    not_json = await client.post(
        "/api/v1/tokens",
        content=b"{not json",
        headers={**bearer(raw), "Content-Type": "application/json"},
    )
    assert not_json.status_code == 422
    assert not_json.headers["content-type"] == "application/problem+json"
    past = await client.post(
        "/api/v1/tokens",
        json={"name": "x", "expires_at": "2001-01-01T00:00:00Z"},
        headers=bearer(raw),
    )
    assert past.status_code == 422
    assert past.json()["errors"] == [
        {"field": "expires_at", "message": "The expiry must be in the future."}
    ]
    async with unit_of_work(db, None) as session:
        assert len((await session.exec(select(ApiToken))).all()) == 1  # nothing half-written


async def test_unknown_api_route_is_problem_json(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["title"] == "Not found"


async def test_session_cookie_works_for_reads_but_writes_need_the_csrf_header(
    client: httpx.AsyncClient, db: Database
) -> None:
    user = await make_user(db)
    await login(client, user.email)
    assert (await client.get("/api/v1/me")).status_code == 200
    refused = await client.post("/api/v1/tokens", json={"name": "from the browser"})
    assert refused.status_code == 403
    assert refused.json()["type"] == "/problems/csrf-failed"
    token = await csrf_token(client, "/")
    allowed = await client.post(
        "/api/v1/tokens", json={"name": "from the browser"}, headers={"X-CSRF-Token": token}
    )
    assert allowed.status_code == 201


async def test_openapi_documents_the_api(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    assert "/api/v1/me" in schema["paths"] and "/api/v1/users" in schema["paths"]
    assert "HTTPBearer" in schema["components"]["securitySchemes"]
    assert (await client.get("/docs")).status_code == 200
