"""The report pages: the partner's forms (with an optional photo) and list, corrections within
14 days, and the officers' list with totals per kind, filters and flags."""

from __future__ import annotations

import html
import re

import httpx

from hub.config import Settings
from hub.db import Database
from tests.factories import csrf_from
from tests.forwards.conftest import (
    MULTIPART,
    Browser,
    World,
    age_report,
    days_ago,
    forward_body,
    material_count,
    multipart,
    report_count,
    signed_in,
    stored_files,
    today,
)
from tests.materials import samples


def new_url(world: World, kind: str) -> str:
    return f"/portal/campaigns/{world.campaign}/reports/new?kind={kind}"


def list_url(world: World) -> str:
    return f"/portal/campaigns/{world.campaign}/reports"


def field_error(page: str, field: str) -> str:
    match = re.search(rf'<p class="field-error" id="{field}-error">([^<]*)</p>', page)
    assert match, f"no error beside {field}"
    return html.unescape(match.group(1))


def value_of(page: str, field: str) -> str:
    match = re.search(rf'<input id="{field}" name="{field}"[^>]*value="([^"]*)"', page)
    assert match, f"no input {field}"
    return html.unescape(match.group(1))


async def _form(client: httpx.AsyncClient, url: str) -> str:
    page = await client.get(url)
    assert page.status_code == 200, page.text
    return csrf_from(page.text)


async def test_the_form_shows_the_fields_of_its_kind(
    client: httpx.AsyncClient, world: World
) -> None:
    await signed_in(client, world.member)
    forward = (await client.get(new_url(world, "forward"))).text
    assert "<h1>What did you forward?</h1>" in forward
    # Item and language in one choice, from the campaign's versions only.
    assert f'value="{world.items["message"]}:so"' in forward
    assert "Budskab – Somali" in forward and "Budskab – Arabic" in forward
    assert "Plakat – Danish" in forward and "Andet" not in forward
    assert 'name="channel"' in forward and ">WhatsApp<" in forward
    assert 'value="meeting"' not in forward  # meetings are a kind of their own
    assert 'name="attendance"' not in forward and 'name="languages"' not in forward
    assert f'max="{today()}"' in forward and f'min="{days_ago(1)}"' in forward

    meeting = (await client.get(new_url(world, "meeting"))).text
    checkboxes = re.findall(r'name="languages" value="([a-z]+)"', meeting)
    assert checkboxes == ["ar", "da", "so", "tr"]  # the campaign's languages
    assert 'name="attendance"' in meeting and 'name="place"' in meeting
    assert 'name="channel"' not in meeting and 'name="audience_estimate"' not in meeting

    listing = (await client.get(list_url(world))).text
    for kind in ("forward", "meeting", "sermon", "door_to_door", "posters"):
        assert f"reports/new?kind={kind}" in listing
    assert "has not reported anything" in listing


async def test_a_forward_with_a_photo_is_reported_from_the_portal(
    client: httpx.AsyncClient, db: Database, settings: Settings, world: World
) -> None:
    await signed_in(client, world.member)
    token = await _form(client, new_url(world, "forward"))
    body = multipart(
        [
            ("csrf_token", token),
            ("kind", "forward"),
            ("variant", f"{world.items['message']}:ar"),
            ("channel", "facebook"),
            ("occurred_on", today()),
            ("audience_estimate", "1.200"),
            ("placement", "Foreningens Facebook-side"),
            ("note", ""),
        ],
        ("opslag.png", samples.png(3, 2)),
    )
    sent = await client.post(
        f"/portal/campaigns/{world.campaign}/reports/new", content=body, headers=MULTIPART
    )
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"].endswith(f"{list_url(world)}?done=report-saved")
    assert await material_count(db) == 1 and len(stored_files(settings.media_root)) == 1

    listing = (await client.get(list_url(world))).text
    assert "Budskab – Arabic" in listing and "Facebook" in listing
    assert "Foreningens Facebook-side" in listing and "1,200" in listing
    assert "See the photo" in listing
    api = await client.get(f"/api/v1/campaigns/{world.campaign}/reports", headers=world.member_h)
    [report] = api.json()["items"]
    assert report["audience_estimate"] == 1200 and report["has_evidence"] is True
    photo = await client.get(f"/portal/reports/{report['id']}/evidence")
    assert photo.status_code == 200 and photo.content == samples.png(3, 2)
    assert photo.headers["x-content-type-options"] == "nosniff"


async def test_a_meeting_without_a_photo_and_with_several_languages(
    client: httpx.AsyncClient, db: Database, world: World
) -> None:
    await signed_in(client, world.coordinator)
    token = await _form(client, new_url(world, "meeting"))
    body = multipart(
        [
            ("csrf_token", token),
            ("kind", "meeting"),
            ("variant", ""),
            ("occurred_on", days_ago(1)),
            ("place", "Beboerhuset"),
            ("languages", "so"),
            ("languages", "tr"),
            ("attendance", "42"),
            ("questions", "Hvor kan man blive vaccineret uden tid?"),
            ("note", ""),
        ],
        empty_file=True,  # a browser sends the file field even when nothing was chosen
    )
    sent = await client.post(
        f"/portal/campaigns/{world.campaign}/reports/new?kind=meeting",
        content=body,
        headers=MULTIPART,
    )
    assert sent.status_code == 303, sent.text
    [report] = (
        await client.get(f"/api/v1/campaigns/{world.campaign}/reports", headers=world.member_h)
    ).json()["items"]
    assert report["kind"] == "meeting" and report["languages"] == ["so", "tr"]
    assert report["attendance"] == 42 and report["has_evidence"] is False
    assert await material_count(db) == 0
    listing = (await client.get(list_url(world))).text
    assert "Spoken in: Somali, Turkish" in listing and "42" in listing


async def test_a_refused_form_keeps_the_input_shows_errors_and_stores_nothing(
    client: httpx.AsyncClient, db: Database, settings: Settings, world: World
) -> None:
    await signed_in(client, world.member)
    token = await _form(client, new_url(world, "forward"))
    fields = [
        ("csrf_token", token),
        ("kind", "forward"),
        ("variant", f"{world.items['poster']}:so"),  # the poster has no Somali version
        ("channel", "whatsapp"),
        ("occurred_on", days_ago(-2)),
        ("audience_estimate", "mange"),
        ("placement", "Mødregruppen <b>Gellerup</b>"),
        ("note", "Husk at tjekke tallet"),
    ]
    sent = await client.post(
        f"/portal/campaigns/{world.campaign}/reports/new",
        content=multipart(fields, ("bevis.png", samples.png())),
        headers=MULTIPART,
    )
    assert sent.status_code == 422, sent.text
    page = sent.text
    assert "no version in this language" in field_error(page, "variant")
    assert "future" in field_error(page, "occurred_on")
    assert "whole number" in field_error(page, "audience_estimate")
    assert "Choose it again" in field_error(page, "file")
    # What was typed is shown again (escaped), and the choices stay chosen.
    assert value_of(page, "placement") == "Mødregruppen <b>Gellerup</b>"
    assert value_of(page, "audience_estimate") == "mange"
    assert value_of(page, "occurred_on") == days_ago(-2)
    assert "Husk at tjekke tallet</textarea>" in page
    assert f'value="{world.items["poster"]}:so"' not in page  # not a choice at all
    assert '<option value="whatsapp" selected>' in page
    assert 'aria-invalid="true"' in page
    assert await report_count(db) == 0 and await material_count(db) == 0
    assert stored_files(settings.media_root) == []

    # A photo that is not one: the report is refused with it, next to the file field.
    fields[2], fields[4], fields[5] = (
        ("variant", f"{world.items['message']}:so"),
        ("occurred_on", today()),
        ("audience_estimate", "80"),
    )
    not_photo = await client.post(
        f"/portal/campaigns/{world.campaign}/reports/new",
        content=multipart(fields, ("bevis.pdf", samples.pdf())),
        headers=MULTIPART,
    )
    assert not_photo.status_code == 422, not_photo.text
    assert "JPEG, PNG or WebP" in field_error(not_photo.text, "file")
    assert value_of(not_photo.text, "audience_estimate") == "80"
    assert await report_count(db) == 0 and await material_count(db) == 0
    assert stored_files(settings.media_root) == []


async def test_a_form_without_its_csrf_token_is_refused(
    client: httpx.AsyncClient, db: Database, settings: Settings, world: World
) -> None:
    await signed_in(client, world.member)
    await _form(client, new_url(world, "sermon"))
    fields = [
        ("csrf_token", "forged"),
        ("kind", "sermon"),
        ("occurred_on", today()),
        ("placement", "Moskeen"),
        ("audience_estimate", "300"),
    ]
    sent = await client.post(
        f"/portal/campaigns/{world.campaign}/reports/new",
        content=multipart(fields, ("a.png", samples.png())),
        headers=MULTIPART,
    )
    assert sent.status_code == 403
    assert "The form has expired" in sent.text
    assert value_of(sent.text, "placement") == "Moskeen"
    assert await report_count(db) == 0 and await material_count(db) == 0
    assert stored_files(settings.media_root) == []


async def test_plain_forms_without_a_file_work_too(
    client: httpx.AsyncClient, db: Database, world: World
) -> None:
    await signed_in(client, world.member)
    token = await _form(client, new_url(world, "door_to_door"))
    sent = await client.post(
        f"/portal/campaigns/{world.campaign}/reports/new",
        data={
            "csrf_token": token,
            "kind": "door_to_door",
            "occurred_on": today(),
            "doors_knocked": "40",
            "conversations": "41",
        },
    )
    assert sent.status_code == 422
    assert "more conversations than doors" in field_error(sent.text, "conversations")
    sent = await client.post(
        f"/portal/campaigns/{world.campaign}/reports/new",
        data={
            "csrf_token": token,
            "kind": "door_to_door",
            "occurred_on": today(),
            "doors_knocked": "40",
            "conversations": "12",
            "placement": "Blok 4",
        },
    )
    assert sent.status_code == 303, sent.text
    assert await report_count(db) == 1


async def test_corrections_from_the_portal_follow_the_14_day_rule(
    client: httpx.AsyncClient, db: Database, world: World, browser: Browser
) -> None:
    made = await client.post(
        f"/api/v1/campaigns/{world.campaign}/reports",
        json=forward_body(world),
        headers=world.member_h,
    )
    report = made.json()
    edit = f"/portal/reports/{report['id']}/edit"

    async with browser() as coordinator:
        await signed_in(coordinator, world.coordinator)
        listing = (await coordinator.get(list_url(world))).text
        assert f'href="http://testserver{edit}"' in listing
        page = await coordinator.get(edit)
        assert page.status_code == 200
        assert value_of(page.text, "audience_estimate") == "240"
        assert f'value="{world.items["message"]}:so" selected' in page.text
        token = csrf_from(page.text)
        saved = await coordinator.post(
            edit,
            content=multipart(
                [
                    ("csrf_token", token),
                    ("variant", f"{world.items['message']}:so"),
                    ("channel", "newsletter"),
                    ("occurred_on", today()),
                    ("audience_estimate", "300"),
                    ("placement", "Nyhedsbrevet"),
                    ("note", ""),
                ],
                ("ny.png", samples.png(2, 2)),
            ),
            headers=MULTIPART,
        )
        assert saved.status_code == 303, saved.text
        assert saved.headers["location"].endswith("?done=report-corrected")

    corrected = (await client.get(f"/api/v1/reports/{report['id']}", headers=world.member_h)).json()
    assert corrected["channel"] == "newsletter" and corrected["audience_estimate"] == 300
    assert corrected["has_evidence"] is True

    # The member may correct its own report; not the coordinator's.
    theirs = await client.post(
        f"/api/v1/campaigns/{world.campaign}/reports",
        json=forward_body(world),
        headers=world.coordinator_h,
    )
    await signed_in(client, world.member)
    listing = (await client.get(list_url(world))).text
    assert f"/portal/reports/{report['id']}/edit" in listing
    assert f"/portal/reports/{theirs.json()['id']}/edit" not in listing
    assert "your coordinator can correct it" in listing
    assert (await client.get(f"/portal/reports/{theirs.json()['id']}/edit")).status_code == 403

    # Removing the photo in a correction.
    token = csrf_from((await client.get(edit)).text)
    removed = await client.post(
        edit,
        data={
            "csrf_token": token,
            "variant": f"{world.items['message']}:so",
            "channel": "newsletter",
            "occurred_on": today(),
            "audience_estimate": "300",
            "remove_evidence": "yes",
        },
    )
    assert removed.status_code == 303, removed.text
    again = (await client.get(f"/api/v1/reports/{report['id']}", headers=world.member_h)).json()
    assert again["has_evidence"] is False and again["placement"] == ""

    await age_report(db, report["id"], 15)
    assert (await client.get(edit)).status_code == 409
    late = await client.post(edit, data={"csrf_token": token, "audience_estimate": "1"})
    assert late.status_code == 409
    assert "No longer" in (await client.get(list_url(world))).text

    # Another organisation's partner does not find the report at all.
    async with browser() as outsider:
        await signed_in(outsider, world.outsider)
        assert (await outsider.get(edit)).status_code == 404
        assert (await outsider.get(f"/portal/reports/{report['id']}/evidence")).status_code == 404


async def test_officers_see_totals_per_kind_filter_and_flag(
    client: httpx.AsyncClient, world: World, browser: Browser
) -> None:
    api = f"/api/v1/campaigns/{world.campaign}/reports"
    first = await client.post(api, json=forward_body(world), headers=world.member_h)
    await client.post(api, json=forward_body(world, audience_estimate=60), headers=world.outsider_h)
    await client.post(
        api,
        json={
            "kind": "meeting",
            "occurred_on": today(),
            "place": "Moskeens mødelokale",
            "languages": ["so"],
            "attendance": 25,
        },
        headers=world.coordinator_h,
    )
    report_id = first.json()["id"]

    await signed_in(client, world.officer_user)
    page = await client.get(f"/campaigns/{world.campaign}/reports")
    assert page.status_code == 200
    text = page.text
    forward_total = text[text.index('id="total-forward"') :]
    assert ">2</td>" in forward_total.split("</tr>")[0]
    assert "300" in forward_total.split("</tr>")[0]  # 240 + 60 estimated audience
    meeting_total = text[text.index('id="total-meeting"') :].split("</tr>")[0]
    assert "25" in meeting_total and "attended" in meeting_total
    totals = text[text.index('class="report-totals"') :].split("</table>")[0]
    assert "325" not in totals  # kinds are never added up
    assert "Somali Kvindeforening" in text and "Tyrkisk Forening" in text
    assert "Moskeens mødelokale" in text

    meetings = (await client.get(f"/campaigns/{world.campaign}/reports?kind=meeting")).text
    assert "Moskeens mødelokale" in meetings and "Mødregruppen i Gellerup" not in meetings
    theirs = (
        await client.get(f"/campaigns/{world.campaign}/reports?organisation={world.theirs.id}")
    ).text
    assert "Tyrkisk Forening</a>" in theirs and "Somali Kvindeforening</a>" not in theirs

    detail_url = f"/campaigns/{world.campaign}/reports/{report_id}"
    detail = await client.get(detail_url)
    assert detail.status_code == 200
    token = csrf_from(detail.text)
    empty = await client.post(f"{detail_url}/flag", data={"csrf_token": token, "reason": " "})
    assert empty.status_code == 422
    assert "required" in field_error(empty.text, "reason")
    flagged = await client.post(
        f"{detail_url}/flag", data={"csrf_token": token, "reason": "Gruppen har 40 medlemmer"}
    )
    assert flagged.status_code == 303
    assert flagged.headers["location"].endswith(f"{detail_url}?done=report-flagged")
    shown = (await client.get(detail_url)).text
    assert "Flagged as implausible" in shown and "Gruppen har 40 medlemmer" in shown
    only_flagged = (await client.get(f"/campaigns/{world.campaign}/reports?flagged=yes")).text
    assert only_flagged.count('<tr id="report-') == 1
    total_row = only_flagged[only_flagged.index('id="total-forward"') :].split("</tr>")[0]
    assert "60" in total_row and "300" not in total_row  # the flagged report is not counted
    unflagged = await client.post(f"{detail_url}/unflag", data={"csrf_token": token})
    assert unflagged.status_code == 303
    assert "Flagged as implausible" not in (await client.get(detail_url)).text
    forged = await client.post(f"{detail_url}/flag", data={"csrf_token": "x", "reason": "y"})
    assert forged.status_code == 403

    # Partners never reach the officers' pages, and are sent from them to their own.
    async with browser() as partner:
        await signed_in(partner, world.member)
        assert (await partner.get(f"/campaigns/{world.campaign}/reports")).status_code == 403
        assert (await partner.get(detail_url)).status_code == 403
        own = await partner.get(list_url(world))
        assert own.status_code == 200 and "Flagged" not in own.text
    officer_portal = await client.get(list_url(world))
    assert officer_portal.status_code == 303
    assert officer_portal.headers["location"].endswith(f"/campaigns/{world.campaign}/reports")


async def test_a_photo_refused_while_it_arrives_is_named_beside_the_file_field(
    client: httpx.AsyncClient, db: Database, settings: Settings, world: World
) -> None:
    await signed_in(client, world.member)
    token = await _form(client, new_url(world, "posters"))
    fields = [
        ("csrf_token", token),
        ("kind", "posters"),
        ("occurred_on", today()),
        ("poster_count", "15"),
        ("buildings", "Blok 7, opgang A-D"),
    ]
    url = f"/portal/campaigns/{world.campaign}/reports/new"
    svg = await client.post(
        url,
        content=multipart(fields, ("plakat.svg", b"<svg xmlns='http://www.w3.org/2000/svg'/>")),
        headers=MULTIPART,
    )
    assert svg.status_code == 422, svg.text
    assert "SVG" in field_error(svg.text, "file")
    assert value_of(svg.text, "poster_count") == "15"
    assert "Blok 7, opgang A-D</textarea>" in svg.text

    settings.max_upload_mb = 1  # read at each upload
    big = samples.png() + b"\x00" * (1024 * 1024 + 10)
    too_large = await client.post(
        url, content=multipart(fields, ("stor.png", big)), headers=MULTIPART
    )
    assert too_large.status_code == 413, too_large.text
    assert "larger than 1 MiB" in field_error(too_large.text, "file")
    assert value_of(too_large.text, "poster_count") == "15"
    assert await report_count(db) == 0 and await material_count(db) == 0
    assert stored_files(settings.media_root) == []
