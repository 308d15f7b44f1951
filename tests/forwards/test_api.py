"""The forward reports API: every kind of report and its checks, who sees which reports, the
14-day correction rule, officers' flags, and evidence photos."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hub.config import Settings
from hub.db import Database
from tests.forwards.conftest import (
    MULTIPART,
    World,
    age_report,
    days_ago,
    forward_body,
    material_count,
    multipart,
    report_count,
    stored_files,
    today,
)
from tests.materials import samples


def reports_url(campaign: int) -> str:
    return f"/api/v1/campaigns/{campaign}/reports"


async def _report(
    client: httpx.AsyncClient, world: World, headers: dict[str, str], body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.post(reports_url(world.campaign), json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _fields(response: httpx.Response) -> set[str]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return {e["field"].rsplit(".", 1)[-1] for e in response.json()["errors"]}


def valid_bodies(world: World) -> dict[str, dict[str, Any]]:
    return {
        "forward": forward_body(world),
        "meeting": {
            "kind": "meeting",
            "occurred_on": today(),
            "place": "Beboerhuset, Gellerup",
            "languages": ["so", "ar"],
            "attendance": 35,
            "questions": "Er vaccinen sikker for gravide?",
        },
        "sermon": {
            "kind": "sermon",
            "occurred_on": days_ago(1),
            "placement": "Fredagsbøn i moskeen",
            "audience_estimate": 400,
        },
        "door_to_door": {
            "kind": "door_to_door",
            "occurred_on": today(),
            "placement": "Dortesvej 1-17",
            "doors_knocked": 120,
            "conversations": 45,
        },
        "posters": {
            "kind": "posters",
            "item_id": world.items["poster"],
            "language": "da",
            "occurred_on": today(),
            "poster_count": 30,
            "buildings": "Opgangene i blok 4 og 5",
        },
    }


async def test_each_kind_of_report_is_stored_with_its_reach(
    client: httpx.AsyncClient, world: World
) -> None:
    made = {}
    for kind, body in valid_bodies(world).items():
        made[kind] = await _report(client, world, world.member_h, body)
    forward = made["forward"]
    assert forward["channel"] == "whatsapp" and forward["reach"] == 240
    assert forward["organisation_id"] == world.ours.id
    assert forward["organisation_name"] == "Somali Kvindeforening"
    assert forward["item_title"] == "Budskab" and forward["language"] == "so"
    assert forward["correctable"] is True and forward["flagged"] is None
    assert made["meeting"]["reach"] == 35 and made["meeting"]["languages"] == ["so", "ar"]
    assert made["meeting"]["channel"] == "meeting" and made["meeting"]["item_id"] is None
    assert made["sermon"]["reach"] == 400 and made["sermon"]["channel"] == "sermon"
    assert made["door_to_door"]["reach"] == 45 and made["door_to_door"]["doors_knocked"] == 120
    # Posters without an estimate have no reach; their channel is "poster" unless told.
    assert made["posters"]["reach"] is None and made["posters"]["channel"] == "poster"

    listed = await client.get(reports_url(world.campaign), headers=world.member_h)
    assert listed.status_code == 200
    page = listed.json()
    assert page["total"] == 5
    totals = {t["kind"]: t for t in page["totals"]}
    assert totals["forward"]["reach"] == 240 and totals["meeting"]["reach"] == 35
    assert totals["posters"] == {
        "kind": "posters",
        "reports": 1,
        "reach": 0,
        "flagged": None,
        "reports_with_reach": 0,
    }
    only = await client.get(
        reports_url(world.campaign), params={"kind": "meeting"}, headers=world.officer
    )
    assert [r["kind"] for r in only.json()["items"]] == ["meeting"]


@pytest.mark.parametrize(
    ("kind", "changes", "fields"),
    [
        (
            "forward",
            {"item_id": None, "channel": None, "audience_estimate": None},
            {"item_id", "channel", "audience_estimate"},
        ),
        ("forward", {"language": "tr"}, {"language"}),
        ("forward", {"language": None}, {"language"}),
        ("forward", {"item_id": "other"}, {"item_id"}),
        ("forward", {"item_id": 999_999}, {"item_id"}),
        ("forward", {"channel": "meeting"}, {"channel"}),
        ("forward", {"channel": "pigeon"}, {"channel"}),
        ("forward", {"occurred_on": "tomorrow"}, {"occurred_on"}),
        ("forward", {"occurred_on": days_ago(3)}, {"occurred_on"}),
        ("forward", {"audience_estimate": -1}, {"audience_estimate"}),
        ("forward", {"audience_estimate": 10_000_001}, {"audience_estimate"}),
        ("forward", {"audience_estimate": 12.5}, {"audience_estimate"}),
        ("forward", {"placement": "x" * 201, "note": "bad\x00byte"}, {"placement", "note"}),
        ("forward", {"attendance": 10}, {"attendance"}),
        ("meeting", {"languages": ["ur"]}, {"languages"}),
        ("meeting", {"languages": ["xx-nope"]}, {"languages"}),
        ("meeting", {"languages": []}, {"languages"}),
        ("meeting", {"attendance": 100_001, "place": "  "}, {"attendance", "place"}),
        (
            "sermon",
            {"placement": None, "audience_estimate": None},
            {"placement", "audience_estimate"},
        ),
        ("door_to_door", {"conversations": 121}, {"conversations"}),
        ("door_to_door", {"doors_knocked": -3}, {"doors_knocked"}),
        ("posters", {"channel": "whatsapp", "poster_count": None}, {"channel", "poster_count"}),
        ("posters", {"language": "so"}, {"language"}),
        ("posters", {"buildings": ""}, {"buildings"}),
    ],
)
async def test_bad_reports_are_refused_with_the_fields_named(
    client: httpx.AsyncClient,
    db: Database,
    world: World,
    kind: str,
    changes: dict[str, Any],
    fields: set[str],
) -> None:
    body = valid_bodies(world)[kind]
    for name, value in changes.items():
        if name == "item_id" and value == "other":
            value = world.items["other"]
        if name == "occurred_on" and value == "tomorrow":
            value = days_ago(-1)
        body[name] = value
    response = await client.post(reports_url(world.campaign), json=body, headers=world.member_h)
    assert response.status_code == 422, response.text
    assert _fields(response) == fields
    assert await report_count(db) == 0


async def test_a_report_needs_a_known_kind(client: httpx.AsyncClient, world: World) -> None:
    bodies: list[object] = [
        {"kind": "rumour", "occurred_on": today()},
        {"occurred_on": today()},
        [],
    ]
    for body in bodies:
        response = await client.post(reports_url(world.campaign), json=body, headers=world.member_h)
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_reports_stay_within_the_organisation(
    client: httpx.AsyncClient, world: World
) -> None:
    ours = await _report(client, world, world.member_h, forward_body(world))
    theirs = await _report(
        client, world, world.outsider_h, forward_body(world, language="so", audience_estimate=9)
    )
    # The other addressed partner sees only its own report, and none of ours.
    listed = (await client.get(reports_url(world.campaign), headers=world.outsider_h)).json()
    assert [r["id"] for r in listed["items"]] == [theirs["id"]]
    # Asking for our organisation does not widen what it sees.
    widened = await client.get(
        reports_url(world.campaign),
        params={"organisation_id": world.ours.id},
        headers=world.outsider_h,
    )
    assert [r["id"] for r in widened.json()["items"]] == [theirs["id"]]
    for method, path, body in (
        ("GET", f"/api/v1/reports/{ours['id']}", None),
        ("PATCH", f"/api/v1/reports/{ours['id']}", {"audience_estimate": 1}),
        ("DELETE", f"/api/v1/reports/{ours['id']}", None),
        ("GET", f"/api/v1/reports/{ours['id']}/evidence", None),
        ("POST", f"/api/v1/reports/{ours['id']}/flag", {"reason": "x"}),
    ):
        response = await client.request(method, path, json=body, headers=world.outsider_h)
        assert response.status_code == 404, (method, path, response.text)
    mine = (await client.get(reports_url(world.campaign), headers=world.coordinator_h)).json()
    assert [r["id"] for r in mine["items"]] == [ours["id"]]

    # A partner the campaign does not address cannot see it, nor report on it.
    assert (
        await client.get(reports_url(world.campaign), headers=world.stranger_h)
    ).status_code == 404
    refused = await client.post(
        reports_url(world.campaign), json=forward_body(world), headers=world.stranger_h
    )
    assert refused.status_code == 404
    # Officers see everything, and filter by organisation.
    everything = (await client.get(reports_url(world.campaign), headers=world.officer)).json()
    assert {r["id"] for r in everything["items"]} == {ours["id"], theirs["id"]}
    filtered = await client.get(
        reports_url(world.campaign),
        params={"organisation_id": world.theirs.id},
        headers=world.officer,
    )
    assert [r["id"] for r in filtered.json()["items"]] == [theirs["id"]]


async def test_officers_do_not_make_reports(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        reports_url(world.campaign), json=forward_body(world), headers=world.officer
    )
    assert response.status_code == 403
    assert "partner organisations" in response.json()["detail"]


async def test_a_report_can_be_corrected_for_14_days_by_its_maker_or_the_coordinator(
    client: httpx.AsyncClient, db: Database, world: World
) -> None:
    by_member = await _report(client, world, world.member_h, forward_body(world))
    by_coordinator = await _report(client, world, world.coordinator_h, forward_body(world))
    url = f"/api/v1/reports/{by_member['id']}"

    own = await client.patch(url, json={"audience_estimate": 250}, headers=world.member_h)
    assert own.status_code == 200, own.text
    assert own.json()["audience_estimate"] == 250 and own.json()["placement"] != ""
    coordinated = await client.patch(
        url,
        json={"placement": "Hele foreningen", "channel": "facebook"},
        headers=world.coordinator_h,
    )
    assert coordinated.status_code == 200, coordinated.text
    assert coordinated.json()["channel"] == "facebook"
    assert coordinated.json()["audience_estimate"] == 250
    assert coordinated.json()["updated_at"] is not None

    colleague = await client.patch(
        f"/api/v1/reports/{by_coordinator['id']}",
        json={"audience_estimate": 1},
        headers=world.member_h,
    )
    assert colleague.status_code == 403
    assert "coordinator" in colleague.json()["detail"]
    assert (await client.get(url, headers=world.member_h)).json()["correctable"] is True
    listed = (await client.get(reports_url(world.campaign), headers=world.member_h)).json()
    correctable = {r["id"]: r["correctable"] for r in listed["items"]}
    assert correctable == {by_member["id"]: True, by_coordinator["id"]: False}
    officer = await client.patch(url, json={"audience_estimate": 1}, headers=world.officer)
    assert officer.status_code == 403

    # A correction is checked like a new report, and keeps the report's kind.
    bad = await client.patch(url, json={"audience_estimate": -5}, headers=world.member_h)
    assert bad.status_code == 422 and _fields(bad) == {"audience_estimate"}
    other_kind = await client.patch(url, json={"attendance": 5}, headers=world.member_h)
    assert other_kind.status_code == 422 and _fields(other_kind) == {"attendance"}
    new_kind = await client.patch(url, json={"kind": "meeting"}, headers=world.member_h)
    assert new_kind.status_code == 422 and _fields(new_kind) == {"kind"}

    await age_report(db, by_member["id"], 15)
    for headers in (world.member_h, world.coordinator_h):
        late = await client.patch(url, json={"audience_estimate": 1}, headers=headers)
        assert late.status_code == 409, late.text
        assert "14 days" in late.json()["detail"]
    late_delete = await client.delete(url, headers=world.coordinator_h)
    assert late_delete.status_code == 409
    assert (await client.get(url, headers=world.member_h)).json()["audience_estimate"] == 250

    withdrawn = await client.delete(
        f"/api/v1/reports/{by_coordinator['id']}", headers=world.coordinator_h
    )
    assert withdrawn.status_code == 204
    assert await report_count(db) == 1


async def test_only_officers_flag_and_partners_do_not_see_flags(
    client: httpx.AsyncClient, world: World
) -> None:
    doubtful = await _report(
        client, world, world.member_h, forward_body(world, audience_estimate=9_000_000)
    )
    await _report(client, world, world.member_h, forward_body(world, audience_estimate=100))
    flag_url = f"/api/v1/reports/{doubtful['id']}/flag"
    by_partner = await client.post(flag_url, json={"reason": "?"}, headers=world.coordinator_h)
    assert by_partner.status_code == 403
    no_reason = await client.post(flag_url, json={"reason": "  "}, headers=world.officer)
    assert no_reason.status_code == 422 and _fields(no_reason) == {"reason"}

    flagged = await client.post(
        flag_url, json={"reason": "Foreningen har 80 medlemmer."}, headers=world.officer
    )
    assert flagged.status_code == 200, flagged.text
    assert flagged.json()["flagged"] is True
    assert flagged.json()["flag_reason"] == "Foreningen har 80 medlemmer."

    officer_view = (
        await client.get(
            reports_url(world.campaign), params={"flagged": "true"}, headers=world.officer
        )
    ).json()
    assert [r["id"] for r in officer_view["items"]] == [doubtful["id"]]
    [total] = officer_view["totals"]
    assert total == {
        "kind": "forward",
        "reports": 2,
        "reach": 100,
        "flagged": 1,
        "reports_with_reach": 1,
    }

    partner_view = (
        await client.get(f"/api/v1/reports/{doubtful['id']}", headers=world.member_h)
    ).json()
    assert partner_view["flagged"] is None and partner_view["flag_reason"] is None
    partner_list = (
        await client.get(
            reports_url(world.campaign), params={"flagged": "true"}, headers=world.member_h
        )
    ).json()
    assert partner_list["total"] == 2  # the filter is the officers'
    assert partner_list["totals"][0]["flagged"] is None

    assert (await client.delete(flag_url, headers=world.member_h)).status_code == 403
    cleared = await client.delete(flag_url, headers=world.officer)
    assert cleared.status_code == 200
    assert cleared.json()["flagged"] is False and cleared.json()["flag_reason"] is None


async def test_an_evidence_photo_is_stored_and_shown_to_the_right_people(
    client: httpx.AsyncClient, db: Database, settings: Settings, world: World
) -> None:
    report = await _report(client, world, world.member_h, forward_body(world))
    url = f"/api/v1/reports/{report['id']}/evidence"
    body = multipart([], ("skaermbillede.png", samples.png(4, 4)))
    put = await client.put(url, content=body, headers={**world.member_h, **MULTIPART})
    assert put.status_code == 200, put.text
    assert put.json()["has_evidence"] is True

    for headers in (world.member_h, world.coordinator_h, world.officer):
        shown = await client.get(url, headers=headers)
        assert shown.status_code == 200
        assert shown.headers["content-type"] == "image/png"
        assert shown.headers["x-content-type-options"] == "nosniff"
        assert shown.headers["content-disposition"].startswith("inline")
        assert shown.content == samples.png(4, 4)
    assert (await client.get(url, headers=world.outsider_h)).status_code == 404

    removed = await client.delete(url, headers=world.member_h)
    assert removed.status_code == 200 and removed.json()["has_evidence"] is False
    assert (await client.get(url, headers=world.member_h)).status_code == 404


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("rapport.pdf", samples.pdf()),
        ("film.mp4", samples.mp4()),
        ("billede.png", b"not a png at all, just text pretending"),
        ("tegning.svg", b"<svg xmlns='http://www.w3.org/2000/svg'></svg>"),
    ],
)
async def test_evidence_that_is_not_a_photo_is_refused_and_not_stored(
    client: httpx.AsyncClient,
    db: Database,
    settings: Settings,
    world: World,
    filename: str,
    content: bytes,
) -> None:
    report = await _report(client, world, world.member_h, forward_body(world))
    before = stored_files(settings.media_root)
    response = await client.put(
        f"/api/v1/reports/{report['id']}/evidence",
        content=multipart([], (filename, content)),
        headers={**world.member_h, **MULTIPART},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "file" in _fields(response)
    assert await material_count(db) == 0
    assert stored_files(settings.media_root) == before
    again = await client.get(f"/api/v1/reports/{report['id']}", headers=world.member_h)
    assert again.json()["has_evidence"] is False


async def test_evidence_follows_the_correction_rule(
    client: httpx.AsyncClient, db: Database, settings: Settings, world: World
) -> None:
    report = await _report(client, world, world.coordinator_h, forward_body(world))
    url = f"/api/v1/reports/{report['id']}/evidence"
    body = multipart([], ("a.png", samples.png()))
    colleague = await client.put(url, content=body, headers={**world.member_h, **MULTIPART})
    assert colleague.status_code == 403
    await age_report(db, report["id"], 20)
    late = await client.put(url, content=body, headers={**world.coordinator_h, **MULTIPART})
    assert late.status_code == 409
    assert await material_count(db) == 0
    assert stored_files(settings.media_root) == []
