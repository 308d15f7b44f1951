"""Small rules of forward reports that need no database."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hub.forwards import form, service
from hub.models import Campaign, Channel, ForwardReport, ReportKind


def _report(kind: ReportKind, **values: object) -> ForwardReport:
    return ForwardReport(
        organisation_id=1,
        campaign_id=1,
        kind=kind,
        occurred_on=date(2026, 11, 20),
        **values,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("kind", "values", "reach"),
    [
        (ReportKind.forward, {"audience_estimate": 240}, 240),
        (ReportKind.sermon, {"audience_estimate": 400}, 400),
        (ReportKind.posters, {"audience_estimate": 90, "poster_count": 30}, 90),
        (ReportKind.posters, {"poster_count": 30}, None),
        (ReportKind.meeting, {"attendance": 35, "audience_estimate": 999}, 35),
        (ReportKind.door_to_door, {"doors_knocked": 120, "conversations": 45}, 45),
    ],
)
def test_reach_is_the_number_each_kind_reports(
    kind: ReportKind, values: dict[str, object], reach: int | None
) -> None:
    assert service.reported_reach(_report(kind, **values)) == reach


def test_reports_start_the_day_before_publishing_on_copenhagens_calendar() -> None:
    # 23:30 UTC on 30 November is already 1 December in Copenhagen.
    campaign = Campaign(title="x", published_at=datetime(2026, 11, 30, 23, 30, tzinfo=UTC))
    assert service.earliest_day(campaign) == date(2026, 11, 30)
    assert service.today_in_copenhagen(datetime(2026, 11, 30, 23, 30, tzinfo=UTC)) == date(
        2026, 12, 1
    )


def test_forwards_offer_no_channel_that_has_a_kind_of_its_own() -> None:
    for channel in (Channel.meeting, Channel.sermon, Channel.door_to_door, Channel.poster):
        assert channel not in service.FORWARD_CHANNELS
    assert Channel.whatsapp in service.FORWARD_CHANNELS


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("1200", 1200),
        ("1.200", 1200),
        ("1,200", 1200),
        ("1 200", 1200),
        ("1.200.000", 1_200_000),
        ("12.5", None),
        ("12,5", None),
        ("1.200,000", None),
        ("-5", None),
        ("mange", None),
    ],
)
def test_counts_typed_in_a_form(text: str, number: int | None) -> None:
    assert form._parse_count(text) == number


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-11-24", date(2026, 11, 24)),
        ("24-11-2026", date(2026, 11, 24)),
        ("24.11.2026", date(2026, 11, 24)),
        ("31.02.2026", None),
        ("i går", None),
    ],
)
def test_dates_typed_in_a_form(text: str, day: date | None) -> None:
    assert form._parse_day(text) == day
