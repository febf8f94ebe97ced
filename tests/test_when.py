"""Reading the ``when`` a person types (tracker.when.parse_when)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tracker.model import Precision
from tracker.when import EARLIEST, LATEST, WhenError, WhenRangeError, parse_when

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
    assert issubclass(WhenRangeError, WhenError)


# -- the accepted range: years 1900 to 2200, as written -----------------------------------------


@pytest.mark.parametrize(
    ("text", "tz", "expected"),
    [
        # The first day, in a zone ahead of UTC: the instant falls in 1899, and that is fine.
        # Seoul then kept local mean time, UTC+8:27:52.
        ("1900-01-01", KST, datetime(1899, 12, 31, 15, 32, 8, tzinfo=UTC)),
        ("1900-01-01 00:00", NEW_YORK, datetime(1900, 1, 1, 5, tzinfo=UTC)),
        ("1900-01-01T00:00+14:00", KST, datetime(1899, 12, 31, 10, tzinfo=UTC)),
        ("2200-12-31", NEW_YORK, datetime(2200, 12, 31, 5, tzinfo=UTC)),
        ("2200-12-31 23:59", KST, datetime(2200, 12, 31, 14, 59, tzinfo=UTC)),
        # The last minute, behind UTC: the instant falls in 2201.
        ("2200-12-31T23:59:59-12:00", KST, datetime(2201, 1, 1, 11, 59, 59, tzinfo=UTC)),
    ],
)
def test_the_ends_of_the_range_are_accepted(text: str, tz: ZoneInfo, expected: datetime) -> None:
    assert parse_when(text, tz)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        # Converting these to UTC would underflow or overflow datetime.
        "0001-01-01",
        "0001-01-01 00:00",
        "0001-01-01T00:00+14:00",
        "9999-12-31",
        "9999-12-31 23:59",
        "9999-12-31T23:59:59-12:00",
        # Just outside.
        "1899-12-31",
        "1899-12-31T23:59:59-12:00",
        "2201-01-01",
        "2201-01-01T00:00+14:00",
    ],
)
@pytest.mark.parametrize("tz", [KST, NEW_YORK])
def test_dates_outside_the_range_are_refused_not_overflowed(text: str, tz: ZoneInfo) -> None:
    with pytest.raises(WhenRangeError) as err:
        parse_when(text, tz)
    message = str(err.value)
    assert f"'{text}'" in message
    assert f"from {EARLIEST} to {LATEST}" in message


def test_the_range_is_years_1900_to_2200() -> None:
    assert (EARLIEST.isoformat(), LATEST.isoformat()) == ("1900-01-01", "2200-12-31")


@pytest.mark.parametrize("text", ["2019-08-23\x00", "\x002019-08-23", "2019-08-23 \x0015:25"])
def test_control_characters_are_not_a_date(text: str) -> None:
    with pytest.raises(WhenError) as err:
        parse_when(text, KST)
    assert not isinstance(err.value, WhenRangeError)
