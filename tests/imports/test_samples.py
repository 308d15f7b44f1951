"""The sample files in tests/data/ give the results documented in tests/data/README.md."""

from __future__ import annotations

from sqlmodel import select

from hub.db import Database, unit_of_work
from hub.imports.schemas import summary_lines
from hub.models import (
    Area,
    AreaKind,
    AreaUptake,
    Channel,
    NotifyBy,
    Organisation,
    OrganisationKind,
    OrganisationStatus,
    OrgRole,
    Role,
    User,
)
from hub.partners import service as partners
from tests.imports.conftest import apply, counts, plan, sample, snapshot

AREAS = "areas_uptake.csv"
SEMICOLON = "partners_semicolon_cp1252.csv"
COMMA = "partners_comma_utf8_bom.csv"
ERRORS = "partners_with_errors.csv"
AREA_ERRORS = "areas_with_errors.csv"


async def test_areas_sample(hub_db: Database) -> None:
    dry = await plan(hub_db, "areas", sample(AREAS))
    assert dry.errors == []
    assert (dry.encoding, dry.delimiter, dry.rows) == ("utf-8", "semicolon", 13)
    assert counts(dry) == {"area": (6, 0, 0), "uptake": (11, 0, 0)}
    assert [c.key for c in dry.changes if c.object == "area"] == [
        "MJ",
        "TI",
        "NB",
        "BH",
        "SB",
        "KBH",
    ]
    # Line numbers count the blank and the ";;;;;;;" lines.
    assert [(c.key, c.line) for c in dry.changes if c.object == "area"][1] == ("TI", 8)
    assert all(rows == [] for rows in (await snapshot(hub_db)).values())

    await apply(hub_db, "areas", sample(AREAS))
    async with unit_of_work(hub_db, None) as session:
        areas = {a.code: a for a in (await session.exec(select(Area))).all()}
        uptake = (await session.exec(select(AreaUptake))).all()
    code_of = {a.id: a.code for a in areas.values()}
    hierarchy = {code: code_of.get(a.parent_id) for code, a in areas.items()}
    assert hierarchy == {"KBH": None, "NB": "KBH", "BH": "KBH", "MJ": "NB", "TI": "BH", "SB": "NB"}
    assert areas["MJ"].name == "Mjølnerparken" and areas["MJ"].kind is AreaKind.housing_area
    assert areas["KBH"].kind is AreaKind.municipality
    assert (areas["KBH"].population, areas["MJ"].population) == (660_842, 1_750)
    series = sorted(
        (code_of[u.area_id], u.measured_on.isoformat(), u.age_band, u.share_percent) for u in uptake
    )
    assert series == [
        ("KBH", "2024-01-15", "", 74.2),  # "alle" is all ages
        ("KBH", "2024-03-15", "", 76.8),
        ("KBH", "2024-03-15", "65+", 92.3),
        ("MJ", "2024-01-15", "", 48.5),
        ("MJ", "2024-02-15", "", 52.1),
        ("MJ", "2024-03-15", "", 55.0),
        ("MJ", "2024-03-15", "12-17", 31.5),
        ("NB", "2024-01-15", "", 63.4),
        ("NB", "2024-03-15", "", 66.0),
        ("TI", "2024-01-15", "", 51.2),
        ("TI", "2024-03-15", "", 57.9),
    ]


async def test_semicolon_cp1252_sample(hub_db: Database) -> None:
    await apply(hub_db, "areas", sample(AREAS))
    dry = await plan(hub_db, "partners", sample(SEMICOLON))
    assert dry.errors == []
    assert (dry.encoding, dry.delimiter, dry.rows) == ("windows-1252", "semicolon", 6)
    assert counts(dry) == {"organisation": (5, 0, 0), "contact": (5, 0, 0)}
    assert any("invite them" in note for note in dry.notes)

    await apply(hub_db, "partners", sample(SEMICOLON))
    async with unit_of_work(hub_db, None) as session:
        organisations = {o.external_id: o for o in (await session.exec(select(Organisation))).all()}
        views = {
            v.organisation.external_id: v
            for v in await partners.load_views(session, list(organisations.values()))
        }
        area_codes = {a.id: a.code for a in (await session.exec(select(Area))).all()}
        contacts = {u.email: u for u in (await session.exec(select(User))).all()}
    assert organisations["F-005"].name == "Ældre Sagen Brønshøj"
    assert organisations["F-005"].notes == "Kontakt via sekretariatet på Åboulevarden"
    assert organisations["F-005"].status is OrganisationStatus.invited
    assert organisations["F-002"].kind is OrganisationKind.faith_community
    assert organisations["F-002"].description == "Fredagsbøn, rådgivning og lektiecafé"
    assert organisations["F-004"].kind is OrganisationKind.civil_society
    somali = views["F-001"]
    assert somali.languages == ["da", "so"]
    assert sorted(area_codes[a] for a in somali.area_ids) == ["MJ", "NB"]
    assert somali.channels == {Channel.whatsapp: 250, Channel.facebook: 1200, Channel.poster: None}
    assert views["F-003"].channels == {
        Channel.poster: None,
        Channel.flyer: 900,
        Channel.door_to_door: None,
    }
    assert views["F-005"].channels == {Channel.newsletter: 2300, Channel.meeting: None}
    yusuf = contacts["yusuf@moske-tingbjerg.dk"]
    assert (yusuf.name, yusuf.language, yusuf.notify_by, yusuf.org_role, yusuf.phone) == (
        "Yusuf Öztürk",
        "tr",
        NotifyBy.both,
        OrgRole.coordinator,
        "+45 31 44 55 66",
    )
    assert yusuf.role is Role.partner and yusuf.organisation_id == organisations["F-002"].id
    assert contacts["soeren.baek@bolig.dk"].name == "Søren Bæk"
    assert contacts["soeren.baek@bolig.dk"].notify_by is NotifyBy.none
    assert contacts["abdi@kulturforening.dk"].org_role is OrgRole.member
    assert contacts["abdi@kulturforening.dk"].phone is None
    # Not invited: no password, no invitation link.
    assert all(c.password_hash is None for c in contacts.values())
    assert (await snapshot(hub_db))["one_time_token"] == []


async def test_comma_utf8_bom_sample_alone_and_after_the_semicolon_one(hub_db: Database) -> None:
    await apply(hub_db, "areas", sample(AREAS))
    alone = await plan(hub_db, "partners", sample(COMMA))
    assert alone.errors == []
    assert (alone.encoding, alone.delimiter, alone.rows) == ("utf-8-sig", "comma", 4)
    assert counts(alone) == {"organisation": (3, 0, 0), "contact": (3, 0, 0)}

    await apply(hub_db, "partners", sample(SEMICOLON))
    after = await plan(hub_db, "partners", sample(COMMA))
    assert counts(after) == {"organisation": (2, 1, 0), "contact": (3, 0, 0)}
    [update] = [c for c in after.changes if c.action == "update"]
    assert (update.key, update.line, update.fields) == ("F-003", 6, ["channels"])

    await apply(hub_db, "partners", sample(COMMA))
    async with unit_of_work(hub_db, None) as session:
        red_cross = (
            await session.exec(select(Organisation).where(Organisation.external_id == "R-100"))
        ).one()
        view = await partners.load_view(session, red_cross)
        housing = (
            await session.exec(select(Organisation).where(Organisation.external_id == "F-003"))
        ).one()
        housing_view = await partners.load_view(session, housing)
        officer = User(email="o@example.org", role=Role.officer)
        members = await partners.list_contacts(session, housing, principal=officer)
    assert red_cross.name == "Red Cross Copenhagen, Nørrebro"
    assert red_cross.description == "Volunteers, homework café and escorts to vaccination"
    assert view.languages == ["ar", "da", "so", "uk"]
    assert view.channels == {Channel.facebook: 1200, Channel.newsletter: 3400}
    assert housing_view.channels == {
        Channel.poster: None,
        Channel.flyer: 950,
        Channel.meeting: 40,
        Channel.door_to_door: None,
    }
    # The contact not in the second file stays.
    assert sorted(m.email for m in members) == ["leila.haddad@bolig.dk", "soeren.baek@bolig.dk"]


async def test_partners_with_errors_sample(hub_db: Database) -> None:
    await apply(hub_db, "areas", sample(AREAS))
    dry = await plan(hub_db, "partners", sample(ERRORS))
    assert [(e.line, e.column, e.reason) for e in dry.errors] == [
        (
            3,
            "kind",
            "Unknown value sportsklub; use one of: association, faith_community, "
            "housing_organisation, civil_society, resource_person, public_institution, "
            "other",
        ),
        (5, "languages", "Not a language code (ISO 639-1, e.g. da, ar, so): zz"),
        (5, "contact_email", "Not a valid e-mail address: hodan(at)example.dk"),
        (6, "areas", "Unknown area codes: XX9"),
        (7, "name", "Differs from line 2, which has Kurdisk Forening Nordvest for E-001."),
        (8, "channels", "An audience estimate cannot be negative."),
        (9, "external_id", "Every row needs the organisation's external id."),
        (10, "contact_email", "This e-mail address is on line 2 already."),
        (11, "contact_notify", "Unknown value fax; use one of: email, sms, both, none"),
        (13, "contact_email", "A contact needs an e-mail address."),
    ]
    # What is fine is still planned, so the officer sees the whole picture.
    assert counts(dry) == {"organisation": (4, 0, 0), "contact": (2, 0, 0)}
    assert [c.key for c in dry.changes] == [
        "E-006",
        "E-007",
        "E-008",
        "E-009",
        "rojda@kurdisk.example",
        "azad@kurdisk.example",
    ]
    text = summary_lines(dry)
    assert "10 errors:" in text
    assert (
        "  line 7, column name: Differs from line 2, which has Kurdisk Forening Nordvest "
        "for E-001." in text
    )


async def test_areas_with_errors_sample(hub_db: Database) -> None:
    dry = await plan(hub_db, "areas", sample(AREA_ERRORS))
    assert [(e.line, e.column, e.reason) for e in dry.errors] == [
        (2, "uptake_date", "Not a date: 2024-02-30 (write 2024-03-15 or 15-03-2024)"),
        (3, "parent_code", "The parent area ZZ does not exist."),
        (3, "uptake_percent", "Uptake is a share between 0 and 100 %."),
        (4, "parent_code", "An area cannot lie inside itself."),
        (4, "population", "The number cannot be negative: -5"),
        (5, "parent_code", "An area cannot lie inside itself."),
        (5, "uptake_percent", "Not a number: abc"),
        (
            6,
            "kind",
            "Unknown value planet; use one of: municipality, district, parish, housing_area",
        ),
        (7, "code", "Give the area a code."),
        (9, "uptake_percent", "Line 8 gives another uptake for the same area, date and age band."),
        (10, "uptake_percent", "Give both the date and the uptake."),
    ]
    assert counts(dry) == {"area": (2, 0, 0), "uptake": (2, 0, 0)}
    assert [c.key for c in dry.changes] == ["A1", "A6", "A3 2024-01-15", "A1 2024-03-15"]


async def test_importing_each_sample_twice_changes_nothing_the_second_time(
    hub_db: Database,
) -> None:
    for fmt, name in (("areas", AREAS), ("partners", SEMICOLON), ("partners", COMMA)):
        await apply(hub_db, fmt, sample(name))
        before = await snapshot(hub_db)
        again = await plan(hub_db, fmt, sample(name))
        assert again.errors == []
        assert [c for c in again.changes if c.action != "skip"] == [], name
        committed = await apply(hub_db, fmt, sample(name))
        assert committed.committed and {c.action for c in committed.changes} == {"skip"}
        assert await snapshot(hub_db) == before, name
    totals = {name: len(rows) for name, rows in (await snapshot(hub_db)).items()}
    assert (totals["area"], totals["area_uptake"]) == (6, 11)
    assert (totals["organisation"], totals["user"]) == (7, 8)
