"""Reminder offsets as people write them: ``30d,7d,1d,1h,10m``."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"^([0-9]+)([dhm])$")
# 366d is 527040m: more digits than this can only be too much, and are not
# converted at all (a number thousands of digits long is slow to read and
# refused by int()).
_MAX_DIGITS = 6
# How much of a bad part a message echoes.
_ECHO = 20
_UNIT = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}
MAX_OFFSETS = 10
MAX_OFFSET = timedelta(days=366)
DEFAULT_OFFSETS = "7d,1d,1h"


class OffsetError(ValueError):
    pass


def parse_offsets(text: str) -> list[timedelta]:
    """Distinct offsets, longest first; raise OffsetError naming the bad part."""
    parts = [p.strip().lower() for p in text.split(",") if p.strip()]
    if not parts:
        raise OffsetError("offsets: give at least one, e.g. 30d,7d,1d,1h,10m (units d h m)")
    out: set[timedelta] = set()
    for part in parts:
        shown = part if len(part) <= _ECHO else part[: _ECHO - 1] + "…"
        match = _PART.match(part)
        if not match:
            raise OffsetError(f"offsets: '{shown}' is not a number followed by d, h or m")
        number = match.group(1).lstrip("0") or "0"
        value = int(number) * _UNIT[match.group(2)] if len(number) <= _MAX_DIGITS else None
        if value is None or not timedelta(0) < value <= MAX_OFFSET:
            raise OffsetError(f"offsets: '{shown}' must be more than 0 and at most 366d")
        out.add(value)
    if len(out) > MAX_OFFSETS:
        raise OffsetError(f"offsets: at most {MAX_OFFSETS} offsets")
    return sorted(out, reverse=True)


def format_offset(offset: timedelta) -> str:
    minutes = int(offset.total_seconds()) // 60
    if minutes % 1440 == 0:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0:
        return f"{minutes // 60}h"
    return f"{minutes}m"


def format_offsets(offsets: list[timedelta]) -> str:
    return ",".join(format_offset(o) for o in offsets)
