"""Reading the ``when`` a person types (SPEC §3)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from tracker.model import Precision
from tracker.timeutil import day_start

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LOCAL = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}$")

WHEN_FORMATS = "YYYY-MM-DD, YYYY-MM-DD HH:MM (in the item's zone) or ISO 8601 with an offset"


class WhenError(ValueError):
    pass


def parse_when(text: str, tz: ZoneInfo) -> tuple[datetime, Precision]:
    """``text`` as a UTC instant and its precision; a date is the start of that local day."""
    raw = text.strip()
    try:
        if _DATE.match(raw):
            return day_start(date.fromisoformat(raw), tz), Precision.DATE
        if _LOCAL.match(raw):
            local = datetime.fromisoformat(raw.replace(" ", "T")).replace(tzinfo=tz)
            return local.astimezone(UTC), Precision.DATETIME
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        raise WhenError(f"'{text}' is not a valid date or time; use {WHEN_FORMATS}") from None
    if parsed.tzinfo is None:
        raise WhenError(f"'{text}' has a time but no offset; use {WHEN_FORMATS}")
    return parsed.astimezone(UTC), Precision.DATETIME
