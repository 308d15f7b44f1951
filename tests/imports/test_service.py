"""Planning and applying imports: updates name what changes, matching by external id, code and
e-mail, all or nothing, the agree-or-leave-empty rule, the hierarchy of areas."""

from __future__ import annotations

import pytest
from sqlmodel import select

from hub.db import Database, unit_of_work
from hub.errors import Forbidden
from hub.imports import export, service
from hub.models import (
    Area,
    AreaUptake,
    Channel,
    NotifyBy,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    Role,
    User,
)
from hub.partners import service as partners
from tests.factories import make_organisation, make_user
from tests.imports.conftest import apply, counts, error_cells, plan, sample, snapshot

HEADER = (
    "external_id;name;kind;description;languages;areas;channels;status;notes;contact_name;"
    "contact_email;contact_phone;contact_language;contact_notify;contact_role\n"
)
AREAS_HEADER = "code;name;kind;parent_code;population;uptake_date;uptake_percent;age_band\n"


def partners_file(*rows: str, header: str = HEADER) -> bytes:
    return (header + "\n".join(rows) + "\n").encode()


async def organisation(db: Database, external_id: str) -> partners.OrganisationView:
    async with unit_of_work(db, None) as session:
        found = (
            await session.exec(select(Organisation).where(Organisation.external_id == external_id))
        ).one()
        return await partners.load_view(session, found)


async def user(db: Database, email: str) -> User:
    async with unit_of_work(db, None) as session:
        return (await session.exec(select(User).where(User.email == email))).one()


# --- all or nothing --------------------------------------------------------------------------


async def test_a_file_with_errors_writes_nothing_not_even_its_good_rows(hub_db: Database) -> None:
    await apply(hub_db, "areas", sample("areas_uptake.csv"))
    before = await snapshot(hub_db)
    with pytest.raises(service.ImportRejected) as caught:
        await apply(hub_db, "partners", sample("partners_with_errors.csv"))
    assert await snapshot(hub_db) == before
    assert len(caught.value.plan.errors) == 10
    assert caught.value.status == 422
    assert caught.value.detail == "The file has 10 errors; nothing was imported."
    assert caught.value.errors[0].field == "kind"
    assert caught.value.errors[0].message.startswith("line 3, column kind: Unknown value")

    with pytest.raises(service.ImportRejected):
        await apply(hub_db, "areas", sample("areas_with_errors.csv"))
    assert await snapshot(hub_db) == before


async def test_a_planned_import_writes_nothing(hub_db: Database) -> None:
    await plan(hub_db, "areas", sample("areas_uptake.csv"))
    await apply(hub_db, "areas", sample("areas_uptake.csv"))
    before = await snapshot(hub_db)
    await plan(hub_db, "partners", sample("partners_semicolon_cp1252.csv"))
    assert await snapshot(hub_db) == before


async def test_a_file_that_is_not_csv_is_one_error(hub_db: Database) -> None:
    result = await plan(hub_db, "partners", b"PK\x03\x04\x14\x00binary workbook")
    assert error_cells(result) == [(0, "")]
    assert result.errors[0].reason.startswith("This is an Excel workbook")
    assert counts(result) == {"organisation": (0, 0, 0), "contact": (0, 0, 0)}
    with pytest.raises(service.ImportRejected):
        await apply(hub_db, "partners", b"PK\x03\x04\x14\x00binary workbook")
    headerless = await plan(hub_db, "areas", b"Kommune;2024\nx;y\n")
    assert headerless.errors[0].line == 1
    assert headerless.errors[0].reason.startswith("Not a header this import knows.")


async def test_only_staff_may_import(hub_db: Database) -> None:
    organisation_row = await make_organisation(hub_db)
    partner = await make_user(hub_db, role=Role.partner, organisation_id=organisation_row.id)
    with pytest.raises(Forbidden):
        await apply(hub_db, "areas", sample("areas_uptake.csv"), principal=partner)
    officer = await make_user(hub_db, role=Role.officer)
    result = await apply(hub_db, "areas", sample("areas_uptake.csv"), principal=officer)
    assert result.committed and counts(result)["area"] == (6, 0, 0)


# --- partners --------------------------------------------------------------------------------


async def test_updates_name_the_changed_fields_and_apply_them(hub_db: Database) -> None:
    await apply(hub_db, "areas", sample("areas_uptake.csv"))
    first = partners_file(
        "X-1;Foreningen;forening;Om os;da;NB;whatsapp:10;aktiv;Note;Ane;ane@x.dk;;da;e-mail;medlem"
    )
    await apply(hub_db, "partners", first)
    second = partners_file(
        "X-1;Foreningen Nord;forening;Om os;da ar;NB TI;whatsapp:12;pause;Note;Ane B;ane@x.dk;"
        "+45 11;ar;sms;koordinator"
    )
    result = await plan(hub_db, "partners", second)
    assert [(c.object, c.action, c.fields) for c in result.changes] == [
        ("organisation", "update", ["name", "status", "languages", "areas", "channels"]),
        (
            "contact",
            "update",
            ["contact_name", "contact_phone", "contact_language", "contact_notify", "contact_role"],
        ),
    ]
    await apply(hub_db, "partners", second)
    view = await organisation(hub_db, "X-1")
    assert view.organisation.name == "Foreningen Nord"
    assert view.organisation.status is OrganisationStatus.paused
    assert view.languages == ["ar", "da"] and len(view.area_ids) == 2
    assert view.channels == {Channel.whatsapp: 12}
    contact = await user(hub_db, "ane@x.dk")
    assert (contact.name, contact.phone, contact.language, contact.notify_by, contact.org_role) == (
        "Ane B",
        "+45 11",
        "ar",
        NotifyBy.sms,
        "coordinator",
    )
    assert counts(await plan(hub_db, "partners", second)) == {
        "organisation": (0, 0, 1),
        "contact": (0, 0, 1),
    }


async def test_a_missing_column_is_left_alone_an_empty_cell_clears(hub_db: Database) -> None:
    await apply(
        hub_db,
        "partners",
        partners_file("X-1;Foreningen;forening;Om os;da;;facebook:5;;Hemmelig note;;;;;;"),
    )
    without_notes = partners_file(
        "X-1;Foreningen;forening;;da;;facebook:5",
        header="external_id;name;kind;description;languages;areas;channels\n",
    )
    result = await plan(hub_db, "partners", without_notes)
    assert [(c.action, c.fields) for c in result.changes] == [("update", ["description"])]
    await apply(hub_db, "partners", without_notes)
    view = await organisation(hub_db, "X-1")
    assert (view.organisation.description, view.organisation.notes) == ("", "Hemmelig note")
    # Empty kind and status mean "as it is".
    same = partners_file(
        "X-1;Foreningen;;;da;;facebook:5",
        header="external_id;name;kind;description;languages;areas;channels\n",
    )
    assert counts(await plan(hub_db, "partners", same))["organisation"] == (0, 0, 1)


async def test_further_rows_may_repeat_or_leave_out_the_organisation(hub_db: Database) -> None:
    content = partners_file(
        "X-1;Foreningen;forening;;;;;;;A;a@x.dk;;;;",
        "X-1;;;;;;;;;B;b@x.dk;;;;",
        "X-1;Foreningen;association;;;;;;;C;c@x.dk;;;;",  # the same kind in English
    )
    result = await plan(hub_db, "partners", content)
    assert result.errors == []
    assert counts(result) == {"organisation": (1, 0, 0), "contact": (3, 0, 0)}


async def test_languages_and_channels_in_other_spellings(hub_db: Database) -> None:
    content = partners_file(
        'X-1;Forening;forening;;"Arabisk, somali | English/da";;'
        '"Nyhedsbrev: 1.200, dør til dør, WhatsApp 1 500; Prædiken";;;;;;;;'
    )
    await apply(hub_db, "partners", content)
    view = await organisation(hub_db, "X-1")
    assert view.languages == ["ar", "da", "en", "so"]
    assert view.channels == {
        Channel.whatsapp: 1500,
        Channel.newsletter: 1200,
        Channel.sermon: None,
        Channel.door_to_door: None,
    }


async def test_contact_matching_by_email(hub_db: Database) -> None:
    other = await make_organisation(hub_db, name="Anden forening")
    await make_user(hub_db, role=Role.partner, organisation_id=other.id, email="taken@x.dk")
    await make_user(hub_db, role=Role.officer, email="officer@kommune.dk")
    content = partners_file(
        "X-1;Forening;forening;;;;;;;Ny;NEW@X.DK;;;;",
        "X-1;;;;;;;;;Optaget;taken@x.dk;;;;",
        "X-1;;;;;;;;;Medarbejder;Officer@Kommune.dk;;;;",
        "X-1;;;;;;;;;Igen;new@x.dk;;;;",
    )
    result = await plan(hub_db, "partners", content)
    assert [(e.line, e.reason) for e in result.errors] == [
        (3, "This e-mail address belongs to a contact of another organisation."),
        (4, "This e-mail address belongs to a staff user."),
        (5, "This e-mail address is on line 2 already."),
    ]
    assert [c.key for c in result.changes if c.object == "contact"] == ["new@x.dk"]


async def test_new_contacts_get_defaults_and_no_invitation(hub_db: Database) -> None:
    await apply(hub_db, "partners", partners_file("X-1;Forening;forening;;;;;;;;ny@x.dk;;;;"))
    contact = await user(hub_db, "ny@x.dk")
    assert (contact.role, contact.language, contact.notify_by, contact.org_role) == (
        Role.partner,
        "da",
        NotifyBy.email,
        "member",
    )
    assert contact.password_hash is None and contact.is_active
    assert (await snapshot(hub_db))["one_time_token"] == []


async def test_an_offboarded_organisation_gets_no_new_contacts(hub_db: Database) -> None:
    content = partners_file("X-1;Forening;forening;;;;;afsluttet;;;ny@x.dk;;;;")
    result = await plan(hub_db, "partners", content)
    assert error_cells(result) == [(2, "contact_email")]
    await apply(hub_db, "partners", partners_file("X-1;Forening;forening;;;;;afsluttet;;;;;;;"))
    view = await organisation(hub_db, "X-1")
    assert view.organisation.status is OrganisationStatus.offboarded
    assert view.organisation.offboarded_at is not None


async def test_too_long_values_and_new_organisations_without_name_or_kind(
    hub_db: Database,
) -> None:
    content = partners_file(
        f"X-1;{'n' * 201};forening;;;;;;;;;;;;",
        "X-2;;;;;;;;;;;;;;",
        f"{'x' * 101};Forening;forening;;;;;;;;;;;;",
        f"X-3;Forening;forening;;;;;;;;a@x.dk;{'1' * 41};;;",
    )
    result = await plan(hub_db, "partners", content)
    assert [(e.line, e.column, e.reason) for e in result.errors] == [
        (2, "name", "At most 200 characters (this has 201)."),
        (3, "name", "Give the organisation a name."),
        (3, "kind", "Choose the kind of organisation."),
        (4, "external_id", "At most 100 characters (this has 101)."),
        (5, "contact_phone", "At most 40 characters (this has 41)."),
    ]


async def test_an_overflowing_row_is_reported(hub_db: Database) -> None:
    content = partners_file("X-1;Forening; Nørrebro;forening;;;;;;;;;;;;medlem")
    result = await plan(hub_db, "partners", content)
    assert (2, "") in error_cells(result)
    assert (2, "kind") in error_cells(result)


async def test_export_without_external_ids_reimports_unchanged(hub_db: Database) -> None:
    registered = await make_organisation(hub_db, name="Uden id", kind=OrganisationKind.other)
    async with unit_of_work(hub_db, None) as session:
        exported = await export.export_partners(session)
    assert f"hub-{registered.id};Uden id;other".encode() in exported
    result = await plan(hub_db, "partners", exported)
    assert [(c.key, c.action) for c in result.changes] == [(f"hub-{registered.id}", "skip")]
    before = await snapshot(hub_db)
    await apply(hub_db, "partners", exported)
    assert await snapshot(hub_db) == before
    # Only the hub's own id form is looked up by id; anything else is an external id.
    others = partners_file(
        f"hub-{registered.id}x;Ny;andet;;;;;;;;;;;;", "hub-99999999999;Stor;andet;;;;;;;;;;;;"
    )
    assert [c.action for c in (await plan(hub_db, "partners", others)).changes] == [
        "create",
        "create",
    ]


# --- areas -----------------------------------------------------------------------------------


async def test_moving_areas_in_the_hierarchy(hub_db: Database) -> None:
    await apply(hub_db, "areas", (AREAS_HEADER + "A;A;bydel;;;;;\nB;B;sogn;A;;;;\n").encode())
    # Turn it round: A under B, B at the top (would loop if applied in file order).
    swapped = (AREAS_HEADER + "A;A;bydel;B;;;;\nB;B;sogn;;;;;\n").encode()
    result = await plan(hub_db, "areas", swapped)
    assert [(c.key, c.action, c.fields) for c in result.changes] == [
        ("A", "update", ["parent_code"]),
        ("B", "update", ["parent_code"]),
    ]
    await apply(hub_db, "areas", swapped)
    async with unit_of_work(hub_db, None) as session:
        areas = {a.code: a for a in (await session.exec(select(Area))).all()}
    assert areas["A"].parent_id == areas["B"].id and areas["B"].parent_id is None


async def test_a_loop_through_the_hub_is_refused(hub_db: Database) -> None:
    await apply(hub_db, "areas", (AREAS_HEADER + "A;A;bydel;;;;;\nB;B;sogn;A;;;;\n").encode())
    result = await plan(hub_db, "areas", (AREAS_HEADER + "A;A;bydel;B;;;;\n").encode())
    assert [(e.line, e.column, e.reason) for e in result.errors] == [
        (2, "parent_code", "An area cannot lie inside itself.")
    ]
    itself = await plan(hub_db, "areas", (AREAS_HEADER + "C;C;sogn;C;;;;\n").encode())
    assert error_cells(itself) == [(2, "parent_code")]


async def test_uptake_updates_and_kept_figures(hub_db: Database) -> None:
    await apply(
        hub_db,
        "areas",
        (AREAS_HEADER + "A;A;bydel;;100;2024-01-01;50;\nA;;;;;2024-02-01;55;\n").encode(),
    )
    update = (AREAS_HEADER + "A;A;bydel;;1.100;01-02-2024;56,5 %;\n").encode()
    result = await plan(hub_db, "areas", update)
    assert [(c.object, c.action, c.key, c.fields) for c in result.changes] == [
        ("area", "update", "A", ["population"]),
        ("uptake", "update", "A 2024-02-01", ["uptake_percent"]),
    ]
    await apply(hub_db, "areas", update)
    async with unit_of_work(hub_db, None) as session:
        figures = sorted(
            (u.measured_on.isoformat(), u.share_percent)
            for u in (await session.exec(select(AreaUptake))).all()
        )
        population = (await session.exec(select(Area.population))).one()
    assert figures == [("2024-01-01", 50.0), ("2024-02-01", 56.5)]  # January is kept
    assert population == 1100


async def test_an_areas_file_without_optional_columns(hub_db: Database) -> None:
    await apply(hub_db, "areas", b"code,name,kind,population\nA,A,kommune,5000\n")
    result = await plan(hub_db, "areas", b"Kode,Navn,Type\nA,A,kommune\nB,B,bydel\n")
    assert [(c.key, c.action) for c in result.changes] == [("A", "skip"), ("B", "create")]


async def test_areas_export_reimports_unchanged(hub_db: Database) -> None:
    await apply(hub_db, "areas", sample("areas_uptake.csv"))
    async with unit_of_work(hub_db, None) as session:
        semicolon = await export.export_areas(session)
        comma = await export.export_areas(session, delimiter="comma")
    assert "KBH;Københavns Kommune;municipality;;660842;2024-01-15;74,2;" in semicolon.decode(
        "utf-8-sig"
    )
    assert "MJ,Mjølnerparken,housing_area,NB,1750,2024-01-15,48.5," in comma.decode("utf-8-sig")
    for content in (semicolon, comma):
        result = await plan(hub_db, "areas", content)
        assert result.errors == [] and {c.action for c in result.changes} == {"skip"}
        assert counts(result) == {"area": (0, 0, 6), "uptake": (0, 0, 11)}
