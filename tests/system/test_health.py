"""Liveness, readiness (database, Redis, worker heartbeat), error pages and headers."""

from __future__ import annotations

import asyncio

import httpx
from asgi_lifespan import LifespanManager

from hub.config import Settings
from hub.main import create_app
from workers import build_worker


async def test_healthz_answers_without_dependencies(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_reports_a_missing_worker(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] is True
    assert checks["redis"]["ok"] is True
    assert checks["media"] == {"ok": True, "detail": "local disk"}
    assert checks["worker"] == {"ok": False, "detail": "no heartbeat from any worker"}


async def test_readyz_is_ready_with_a_running_worker(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    worker = build_worker(settings, handle_signals=False, poll_delay=0.05)
    task = asyncio.create_task(worker.async_run())
    try:
        for _ in range(100):
            response = await client.get("/readyz")
            if response.status_code == 200:
                break
            await asyncio.sleep(0.05)
        assert response.status_code == 200, response.json()
        assert response.json()["checks"]["worker"]["ok"] is True
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await worker.close()


async def test_readyz_reports_redis_down_instead_of_failing(settings: Settings) -> None:
    app = create_app(settings)
    async with LifespanManager(app) as manager:
        state = manager._state["hub"]
        good_pool = state.queue.pool
        from arq.connections import ArqRedis

        state.queue.pool = ArqRedis.from_url("redis://127.0.0.1:1/0")
        try:
            transport = httpx.ASGITransport(app=manager.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
                response = await c.get("/readyz")
        finally:
            await state.queue.pool.aclose()
            state.queue.pool = good_pool
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"]["ok"] is True and checks["redis"]["ok"] is False


async def test_unknown_page_renders_the_404_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/no/such/page", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "The page or resource does not exist." in response.text


async def test_forbidden_page_for_the_wrong_role(client: httpx.AsyncClient, db: object) -> None:
    from hub.models import Role
    from tests.factories import login, make_user

    officer = await make_user(db, role=Role.officer)  # type: ignore[arg-type]
    await login(client, officer.email)
    response = await client.get("/users", headers={"Accept-Language": "en"})
    assert response.status_code == 403
    assert "You do not have access to this page." in response.text


async def test_unexpected_errors_render_500_without_details(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    @app.get("/api/v1/boom")
    async def api_boom() -> None:
        raise RuntimeError("secret internals")

    async with LifespanManager(app) as manager:
        transport = httpx.ASGITransport(app=manager.app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            page = await c.get("/boom", headers={"Accept-Language": "en"})
            api = await c.get("/api/v1/boom")
    assert page.status_code == 500 and "secret internals" not in page.text
    assert "Something went wrong" in page.text
    assert api.status_code == 500
    assert api.headers["content-type"] == "application/problem+json"
    assert "secret internals" not in api.text


async def test_security_headers_are_set(client: httpx.AsyncClient) -> None:
    response = await client.get("/login")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert "strict-transport-security" not in response.headers  # plain http here


async def test_dashboard_guides_an_empty_hub_and_flags_unserved_low_uptake_areas(
    client: httpx.AsyncClient, db: object
) -> None:
    from hub.models import Role
    from tests.factories import login, make_area, make_partner, make_user

    officer = await make_user(db, role=Role.officer)  # type: ignore[arg-type]
    await login(client, officer.email)
    empty = await client.get("/", headers={"Accept-Language": "en"})
    assert "Start by registering your areas and partners" in empty.text
    low = await make_area(db, code="L", uptake=[("2026-10-01", 55.0)])  # type: ignore[arg-type]
    await make_area(db, code="L2", uptake=[("2026-10-01", 60.0)])  # type: ignore[arg-type]
    await make_area(db, code="H", uptake=[("2026-10-01", 85.0)])  # type: ignore[arg-type]
    await make_partner(db, area_ids=[low])  # type: ignore[arg-type]
    page = await client.get("/", headers={"Accept-Language": "en"})
    assert "<strong>2</strong> areas below 70 % uptake" in page.text
    assert "1 area with low uptake has no active partner" in page.text
    assert "<strong>1</strong> active partner" in page.text


async def test_partner_dashboard_points_to_the_organisation(
    client: httpx.AsyncClient, db: object
) -> None:
    from tests.factories import login, make_contact, make_partner

    contact = await make_contact(db, await make_partner(db))  # type: ignore[arg-type]
    await login(client, contact.email)
    page = await client.get("/", headers={"Accept-Language": "en"})
    assert "/organisation" in page.text and "Our organisation" in page.text
