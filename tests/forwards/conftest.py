"""A published campaign with language versions, the partners it addresses (a coordinator and a
member of one, a member of another), a partner it does not address, and an officer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlmodel import func, select

from hub import i18n
from hub.db import Database, unit_of_work
from hub.forwards.service import today_in_copenhagen
from hub.models import ForwardReport, Material, Organisation, Role, User, utcnow
from tests.factories import api_token, bearer, login, make_contact, make_partner, make_user

EN = {"Accept-Language": "en"}
BOUNDARY = "----HubForwardsBoundary1xQ9"
MULTIPART = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}

Browser = Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with i18n.use_language("en"):
        yield


@dataclass
class World:
    officer: dict[str, str]
    officer_user: User
    ours: Organisation
    theirs: Organisation
    coordinator: User
    member: User
    outsider: User
    stranger: User
    coordinator_h: dict[str, str]
    member_h: dict[str, str]
    outsider_h: dict[str, str]
    stranger_h: dict[str, str]
    campaign: int
    other_campaign: int
    items: dict[str, int]


async def _post(client: httpx.AsyncClient, h: dict[str, str], path: str, **body: object) -> dict:  # type: ignore[type-arg]
    response = await client.post(f"/api/v1{path}", json=body or None, headers=h)
    assert response.status_code in (200, 201), response.text
    return response.json()  # type: ignore[no-any-return]


async def _variant(
    client: httpx.AsyncClient, h: dict[str, str], item: int, language: str, text: str
) -> None:
    response = await client.put(
        f"/api/v1/items/{item}/variants/{language}", json={"text": text}, headers=h
    )
    assert response.status_code in (200, 201), response.text


@pytest.fixture
async def world(client: httpx.AsyncClient, db: Database) -> World:
    officer_user = await make_user(db, role=Role.officer)
    officer = {**bearer(await api_token(client, db, officer_user)), **EN}
    ours = await make_partner(db, name="Somali Kvindeforening", languages=["so", "ar"])
    theirs = await make_partner(db, name="Tyrkisk Forening", languages=["tr"])
    nobody = await make_partner(db, name="Urdu Forening", languages=["ur"])
    coordinator = await make_contact(db, ours, coordinator=True)
    member = await make_contact(db, ours)
    outsider = await make_contact(db, theirs)
    stranger = await make_contact(db, nobody)

    campaign = (
        await _post(
            client,
            officer,
            "/campaigns",
            title="Vaccination før vinteren",
            audience_spec={"languages": ["so", "tr"]},
        )
    )["id"]
    items = {}
    for kind, title in (("message", "Budskab"), ("film", "Film"), ("poster", "Plakat")):
        items[kind] = (
            await _post(client, officer, f"/campaigns/{campaign}/items", kind=kind, title=title)
        )["id"]
    await _variant(client, officer, items["message"], "so", "Tallaalku waa bilaash.")
    await _variant(client, officer, items["message"], "ar", "التطعيم مجاني.")
    await _variant(client, officer, items["film"], "so", "Filim")
    await _variant(client, officer, items["poster"], "da", "Plakat på dansk")
    await _post(client, officer, f"/campaigns/{campaign}/publish")

    other = (
        await _post(
            client,
            officer,
            "/campaigns",
            title="Anden kampagne",
            audience_spec={"languages": ["so"]},
        )
    )["id"]
    items["other"] = (
        await _post(client, officer, f"/campaigns/{other}/items", kind="message", title="Andet")
    )["id"]
    await _variant(client, officer, items["other"], "so", "Qoraal")
    await _post(client, officer, f"/campaigns/{other}/publish")

    async def headers(user: User) -> dict[str, str]:
        return {**bearer(await api_token(client, db, user)), **EN}

    return World(
        officer=officer,
        officer_user=officer_user,
        ours=ours,
        theirs=theirs,
        coordinator=coordinator,
        member=member,
        outsider=outsider,
        stranger=stranger,
        coordinator_h=await headers(coordinator),
        member_h=await headers(member),
        outsider_h=await headers(outsider),
        stranger_h=await headers(stranger),
        campaign=campaign,
        other_campaign=other,
        items=items,
    )


@pytest.fixture
def browser(app: FastAPI) -> Browser:
    """Another browser with its own cookies (a second user signed in at the same time)."""

    @asynccontextmanager
    async def open_browser() -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=EN
        ) as c:
            yield c

    return open_browser


async def signed_in(client: httpx.AsyncClient, user: User) -> httpx.AsyncClient:
    client.headers.update(EN)
    response = await login(client, user.email)
    assert response.status_code == 303, response.text
    return client


def today() -> str:
    return today_in_copenhagen().isoformat()


def days_ago(days: int) -> str:
    return (today_in_copenhagen() - timedelta(days=days)).isoformat()


def forward_body(world: World, **changes: object) -> dict[str, object]:
    body: dict[str, object] = {
        "kind": "forward",
        "item_id": world.items["message"],
        "language": "so",
        "channel": "whatsapp",
        "occurred_on": today(),
        "audience_estimate": 240,
        "placement": "Mødregruppen i Gellerup",
        "note": "Delt i to grupper",
    }
    body.update(changes)
    return body


def multipart(
    fields: list[tuple[str, str]],
    file: tuple[str, bytes] | None = None,
    *,
    empty_file: bool = False,
) -> bytes:
    """A form as a browser sends it: its fields (names may repeat), then the file field (a
    chosen file, or an empty part when none was chosen)."""
    parts = [
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode()
        + b"\r\n"
        for name, value in fields
    ]
    if file is not None or empty_file:
        filename, content = file if file is not None else ("", b"")
        parts.append(
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    return b"".join(parts) + f"--{BOUNDARY}--\r\n".encode()


async def report_count(db: Database) -> int:
    async with unit_of_work(db, None, write=False) as session:
        return int((await session.exec(select(func.count()).select_from(ForwardReport))).one())


async def material_count(db: Database) -> int:
    async with unit_of_work(db, None, write=False) as session:
        return int((await session.exec(select(func.count()).select_from(Material))).one())


def stored_files(media: Path) -> list[Path]:
    return sorted(p for p in media.rglob("*") if p.is_file()) if media.exists() else []


async def age_report(db: Database, report_id: int, days: int) -> None:
    """Make a report look ``days`` old."""
    async with unit_of_work(db, None) as session:
        report = await session.get(ForwardReport, report_id)
        assert report is not None
        report.created_at = utcnow() - timedelta(days=days)
        session.add(report)
