"""Reading an iCalendar file back with the icalendar library, into plain typed values."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import icalendar


@dataclass(frozen=True)
class Vevent:
    uid: str
    start: datetime
    summary: str
    description: str
    sequence: int
    status: str


def vevents(data: bytes) -> list[Vevent]:
    # icalendar's property types are a wide union; the tests read them as what RFC 5545 says.
    calendar: Any = icalendar.Calendar.from_ical(data)
    return [
        Vevent(
            uid=str(e["UID"]),
            start=e.decoded("DTSTART"),
            summary=str(e["SUMMARY"]),
            description=str(e["DESCRIPTION"]),
            sequence=int(e["SEQUENCE"]),
            status=str(e["STATUS"]),
        )
        for e in calendar.walk("VEVENT")
    ]
