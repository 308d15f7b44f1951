"""CSV exports of the registry in the import formats, so an export can be imported unchanged.

UTF-8 with a byte-order mark (Excel then reads the Danish letters right), ``;`` by default as
Danish Excel expects (``,`` or a tab on request), CRLF line ends. Decimals are written with a
decimal comma in ``;`` files and a point otherwise. A cell that Excel would run as a formula
(starting with ``= + - @``) gets a leading apostrophe, which the import removes again.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Literal

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.areas import service as areas_service
from hub.imports.csvfile import DELIMITER_NAMES
from hub.imports.service import AREA_COLUMNS, PARTNER_COLUMNS
from hub.models import Area, AreaUptake, Organisation, Role, User
from hub.partners import service as partners

DelimiterName = Literal["semicolon", "comma", "tab"]
DELIMITERS: dict[str, str] = {name: char for char, name in DELIMITER_NAMES.items()}
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _guard(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _decimal(value: float, delimiter: str) -> str:
    # Fixed point (never "1e-05"); ten decimals read back within the import's tolerance.
    text = f"{value:.10f}".rstrip("0").rstrip(".")
    return text.replace(".", ",") if delimiter == ";" else text


def write_csv(header: Sequence[str], rows: Iterable[Sequence[str]], *, delimiter: str) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_guard(cell) for cell in row])
    return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")


async def export_partners(
    session: AsyncSession, *, delimiter: DelimiterName = "semicolon"
) -> bytes:
    """Every organisation and its contacts (one row per contact) in the partners import format."""
    separator = DELIMITERS[delimiter]
    organisations = list(
        (
            await session.exec(
                select(Organisation).order_by(
                    func.lower(col(Organisation.name)), col(Organisation.id)
                )
            )
        ).all()
    )
    views = await partners.load_views(session, organisations)
    area_codes = {a.id: a.code for a in await areas_service.all_areas(session)}
    contacts: dict[int, list[User]] = defaultdict(list)
    for user in (
        await session.exec(
            select(User)
            .where(
                User.role == Role.partner,
                col(User.erased_at).is_(None),
                col(User.organisation_id).is_not(None),
            )
            .order_by(col(User.email))
        )
    ).all():
        contacts[user.organisation_id].append(user)  # type: ignore[index]

    def rows() -> Iterable[list[str]]:
        for view in views:
            organisation = view.organisation
            external_id = organisation.external_id or f"hub-{organisation.id}"
            organisation_cells = [
                external_id,
                organisation.name,
                organisation.kind.value,
                organisation.description,
                " ".join(view.languages),
                " ".join(sorted(area_codes[a] for a in view.area_ids)),
                "|".join(
                    channel.value if estimate is None else f"{channel.value}:{estimate}"
                    for channel, estimate in view.channels.items()
                ),
                organisation.status.value,
                organisation.notes,
            ]
            people: list[User | None] = [*contacts.get(organisation.id or 0, [])] or [None]
            for person in people:
                yield organisation_cells + (
                    [
                        person.name,
                        person.email,
                        person.phone or "",
                        person.language,
                        person.notify_by.value,
                        (person.org_role.value if person.org_role else ""),
                    ]
                    if person is not None
                    else [""] * 6
                )

    return write_csv(PARTNER_COLUMNS, rows(), delimiter=separator)


async def export_areas(session: AsyncSession, *, delimiter: DelimiterName = "semicolon") -> bytes:
    """Every area and its uptake (one row per figure) in the areas import format."""
    separator = DELIMITERS[delimiter]
    areas = await areas_service.all_areas(session)
    code_of = {a.id: a.code for a in areas}
    uptake: dict[int, list[AreaUptake]] = defaultdict(list)
    for row in (
        await session.exec(
            select(AreaUptake).order_by(col(AreaUptake.measured_on), col(AreaUptake.age_band))
        )
    ).all():
        uptake[row.area_id].append(row)

    def area_cells(area: Area) -> list[str]:
        return [
            area.code,
            area.name,
            area.kind.value,
            code_of.get(area.parent_id, "") if area.parent_id else "",
            "" if area.population is None else str(area.population),
        ]

    def rows() -> Iterable[list[str]]:
        for area in areas:
            figures = uptake.get(area.id or 0, [])
            if not figures:
                yield [*area_cells(area), "", "", ""]
            for figure in figures:
                yield [
                    *area_cells(area),
                    figure.measured_on.isoformat(),
                    _decimal(figure.share_percent, separator),
                    figure.age_band,
                ]

    return write_csv(AREA_COLUMNS, rows(), delimiter=separator)
