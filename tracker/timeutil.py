"""Calendar arithmetic in an item's zone.

Deadlines are defined on local calendar days ("00:00 on the anniversary",
"90 days before"), not as fixed numbers of hours, so every computation here
goes through local dates and only converts to UTC at the end. That is what
keeps a deadline from drifting by an hour across daylight-saving changes.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo


def ensure_utc(value: datetime) -> datetime:
    """Return ``value`` as a UTC-aware datetime; naive input is a programming error."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"naive datetime {value!r}: every instant must carry a zone")
    return value.astimezone(UTC)


def add_months(day: date, months: int) -> date:
    """``day`` moved by whole months; the 29th-31st clamp to the month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    last = calendar.monthrange(year, month0 + 1)[1]
    return date(year, month0 + 1, min(day.day, last))


def day_start(day: date, tz: ZoneInfo) -> datetime:
    """The first instant (UTC) whose local date in ``tz`` is ``day``.

    Normally local 00:00. Where 00:00 does not exist (a daylight-saving gap at
    midnight, as in Havana or Santiago), zoneinfo reads the wall time with the
    offset in force before the gap, which lands exactly on the gap's end: the
    day's real first instant. Where 00:00 happens twice, fold=0 takes the first.
    """
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def local_date(instant: datetime, tz: ZoneInfo) -> date:
    return ensure_utc(instant).astimezone(tz).date()


def months_between(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end`` (may be negative), ignoring days."""
    return (end.year - start.year) * 12 + (end.month - start.month)
