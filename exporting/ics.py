"""A guild's deadlines as an iCalendar file (RFC 5545), for /export and the calendar feed.

The file depends only on the entries and the language (DTSTAMP is when an entry was last
revised, which RFC 5545 allows for an object without METHOD), so the same calendar is
built once and served from a bounded cache until an entry changes: the icalendar library
takes most of a millisecond per event, more than the rest of a feed request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from icalendar import Calendar, Event

from i18n import t
from render.deadlines import meaning
from render.words import deadline_name
from views.calendar import CalendarEntryView

PRODID = "-//motionwatch//deadlines//EN"
CACHED_CALENDARS = 2048


@dataclass(frozen=True, slots=True)
class _Vevent:
    uid: str
    start: datetime
    summary: str
    description: str
    sequence: int
    cancelled: bool
    revised: datetime


def build_calendar(entries: Sequence[CalendarEntryView], *, language: str) -> bytes:
    """One VEVENT per entry, times in UTC, words in ``language``; cancelled ones marked so."""
    events = tuple(
        _Vevent(
            uid=e.uid,
            start=e.row.deadline.at.astimezone(UTC),
            summary=(
                f"{e.row.title or deadline_name(language, e.row.deadline, e.row.spec.rules)}"
                f" · {e.row.spec.name(language)}"
            ),
            description=meaning(language, e.row),
            sequence=e.sequence,
            cancelled=e.cancelled,
            revised=e.updated_at.astimezone(UTC),
        )
        for e in entries
    )
    return _ical(events, t(language, "export.calendar_name"))


@lru_cache(maxsize=CACHED_CALENDARS)
def _ical(events: tuple[_Vevent, ...], name: str) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for vevent in events:
        event = Event()
        event.add("uid", vevent.uid)
        event.add("dtstamp", vevent.revised)
        event.add("last-modified", vevent.revised)
        event.add("dtstart", vevent.start)
        event.add("summary", vevent.summary)
        event.add("description", vevent.description)
        event.add("sequence", vevent.sequence)
        event.add("status", "CANCELLED" if vevent.cancelled else "CONFIRMED")
        calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data
