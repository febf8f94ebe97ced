"""Reading the ``when`` a person types (tracker.when.parse_when)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tracker.model import Precision
from tracker.when import WhenError, parse_when

KST = ZoneInfo("Asia/Seoul")
NEW_YORK = ZoneInfo("America/New_York")
HAVANA = ZoneInfo("America/Havana")


def test_date_is_the_start_of_the_local_day() -> None:
    at, precision = parse_when("2019-08-23", KST)
    assert at == datetime(2019, 8, 22, 15, 0, tzinfo=UTC)
    assert at.tzinfo is UTC
    assert precision is Precision.DATE


def test_local_date_and_time() -> None:
    at, precision = parse_when("2019-08-23 15:25", KST)
    assert at == datetime(2019, 8, 23, 6, 25, tzinfo=UTC)
    assert at.tzinfo is UTC
    assert precision is Precision.DATETIME


def test_local_pattern_with_t_is_local_time() -> None:
    # "YYYY-MM-DDTHH:MM" matches the local pattern: read in the item's zone, not refused.
    assert parse_when("2019-08-23T15:25", KST) == (
        datetime(2019, 8, 23, 6, 25, tzinfo=UTC),
        Precision.DATETIME,
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2019-08-23T15:25+09:00", datetime(2019, 8, 23, 6, 25, tzinfo=UTC)),
        ("2019-08-23T06:25Z", datetime(2019, 8, 23, 6, 25, tzinfo=UTC)),
        ("2019-08-23T06:25:30+00:00", datetime(2019, 8, 23, 6, 25, 30, tzinfo=UTC)),
        ("2019-08-23 01:25-05:00", datetime(2019, 8, 23, 6, 25, tzinfo=UTC)),
    ],
)
def test_iso_with_offset_ignores_the_zone(text: str, expected: datetime) -> None:
    for tz in (KST, NEW_YORK):
        at, precision = parse_when(text, tz)
        assert at == expected
        assert at.tzinfo is UTC
        assert precision is Precision.DATETIME


def test_surrounding_spaces_are_ignored() -> None:
    assert parse_when("  2019-08-23 \n", KST)[0] == datetime(2019, 8, 22, 15, tzinfo=UTC)


def test_zone_follows_daylight_saving() -> None:
    # New York: EST (-5) in January, EDT (-4) in July.
    assert parse_when("2024-01-15 12:00", NEW_YORK)[0] == datetime(2024, 1, 15, 17, tzinfo=UTC)
    assert parse_when("2024-07-15 12:00", NEW_YORK)[0] == datetime(2024, 7, 15, 16, tzinfo=UTC)
    assert parse_when("2024-07-15", NEW_YORK)[0] == datetime(2024, 7, 15, 4, tzinfo=UTC)


def test_date_where_midnight_does_not_exist() -> None:
    # Havana skipped 00:00-01:00 on 8 March 2020: the day starts at 01:00 CDT.
    at, precision = parse_when("2020-03-08", HAVANA)
    assert at == datetime(2020, 3, 8, 5, 0, tzinfo=UTC)
    assert precision is Precision.DATE


@pytest.mark.parametrize(
    "text",
    [
        "2019-13-01",
        "2019-02-30",
        "2019-08-23 25:00",
        "2019-08-23 15:61",
        "yesterday",
        "23/08/2019",
        "",
        "2019-08-23T15:25+25:00",
    ],
)
def test_invalid_input_is_refused(text: str) -> None:
    with pytest.raises(WhenError) as err:
        parse_when(text, KST)
    message = str(err.value)
    assert f"'{text}'" in message
    assert "YYYY-MM-DD" in message


@pytest.mark.parametrize("text", ["2019-08-23T15:25:00", "2019-08-23 15:25:00.5"])
def test_time_with_seconds_needs_an_offset(text: str) -> None:
    with pytest.raises(WhenError) as err:
        parse_when(text, KST)
    message = str(err.value)
    assert f"'{text}'" in message
    assert "no offset" in message


def test_when_error_is_a_value_error() -> None:
    assert issubclass(WhenError, ValueError)
