"""A guild's deadlines as an iCalendar file (RFC 5545), for /export and the calendar feed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from icalendar import Calendar, Event

from i18n import t
from render.deadlines import meaning
from render.words import deadline_name
from views.calendar import CalendarEntryView

PRODID = "-//motionwatch//deadlines//EN"


def build_calendar(entries: Sequence[CalendarEntryView], *, language: str, now: datetime) -> bytes:
    """One VEVENT per entry, times in UTC, words in ``language``; cancelled ones marked so."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", t(language, "export.calendar_name"))
    for entry in entries:
        row = entry.row
        title = row.title or deadline_name(language, row.deadline)
        event = Event()
        event.add("uid", entry.uid)
        event.add("dtstamp", now.astimezone(UTC))
        event.add("last-modified", entry.updated_at.astimezone(UTC))
        event.add("dtstart", row.deadline.at.astimezone(UTC))
        event.add("summary", f"{title} · {row.spec.name(language)}")
        event.add("description", meaning(language, row))
        event.add("sequence", entry.sequence)
        event.add("status", "CANCELLED" if entry.cancelled else "CONFIRMED")
        calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data
