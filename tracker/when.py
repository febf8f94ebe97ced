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

# The calendar a member may write in. Wide enough for any modern treaty or
# parliament's history and any deadline people plan for; narrow enough that
# converting to UTC in any zone (offsets up to ±24 h) and the rule sets'
# arithmetic on top (renewal terms, notice periods: years, not millennia) stay
# far from datetime.min and datetime.max, so no computation downstream overflows.
EARLIEST = date(1900, 1, 1)
LATEST = date(2200, 12, 31)


class WhenError(ValueError):
    pass


class WhenRangeError(WhenError):
    """A well-formed date outside EARLIEST..LATEST."""


def parse_when(text: str, tz: ZoneInfo) -> tuple[datetime, Precision]:
    """``text`` as a UTC instant and its precision; a date is the start of that local day.

    The date as written (before any conversion) must lie in EARLIEST..LATEST.
    """
    raw = text.strip()
    try:
        if _DATE.match(raw):
            day = _in_range(text, date.fromisoformat(raw))
            return day_start(day, tz), Precision.DATE
        if _LOCAL.match(raw):
            local = datetime.fromisoformat(raw.replace(" ", "T")).replace(tzinfo=tz)
            _in_range(text, local.date())
            return local.astimezone(UTC), Precision.DATETIME
        parsed = datetime.fromisoformat(raw)
    except WhenError:
        raise
    except ValueError:
        raise WhenError(f"'{text}' is not a valid date or time; use {WHEN_FORMATS}") from None
    if parsed.tzinfo is None:
        raise WhenError(f"'{text}' has a time but no offset; use {WHEN_FORMATS}")
    _in_range(text, parsed.date())
    return parsed.astimezone(UTC), Precision.DATETIME


def _in_range(text: str, day: date) -> date:
    if not EARLIEST <= day <= LATEST:
        raise WhenRangeError(
            f"'{text}' is outside the accepted range; give a date from {EARLIEST} to {LATEST}"
        )
    return day
