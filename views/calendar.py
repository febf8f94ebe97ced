"""A deadline as a guild's calendar gives it: with its UID, SEQUENCE and whether it is off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from views.deadlines import DeadlineRow


@dataclass(frozen=True, slots=True)
class CalendarEntryView:
    uid: str
    row: DeadlineRow
    sequence: int
    cancelled: bool
    # When this version of the entry was made (the feed's DTSTAMP/LAST-MODIFIED).
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CalendarLink:
    """``url`` is None when PUBLIC_URL is unset: then only the path can be given."""

    path: str
    url: str | None
