"""Pieces every message uses: Discord timestamps, dates, limits, colours."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from i18n import t
from tracker.model import Moment

Embed = dict[str, Any]

# Discord's limits (embeds are refused over them, content is cut by us, never by Discord).
CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FIELD_VALUE_LIMIT = 1024
EMBEDS_TOTAL_LIMIT = 6000

COLOURS = {
    "ok": 0x2E7D32,
    "warn": 0xF9A825,
    "alert": 0xC62828,
    "info": 0x1565C0,
    "muted": 0x757575,
}


@dataclass
class Reply:
    """A message to send: text and embeds (as Discord JSON), plus paging state when it pages."""

    content: str | None = None
    embeds: list[Embed] = field(default_factory=list)
    page: int | None = None
    pages: int | None = None


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def stamp(moment: datetime, style: str = "F") -> str:
    return f"<t:{int(moment.timestamp())}:{style}>"


def moment_text(moment: datetime) -> str:
    """A moment as the reader's local time with a countdown: ``<t:…:F> (<t:…:R>)``."""
    return f"{stamp(moment, 'F')} ({stamp(moment, 'R')})"


def plain_date(language: str, moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return t(
        language,
        "date.format",
        year=local.year,
        month=local.month,
        day=local.day,
        month_name=t(language, f"date.month.{local.month}"),
    )


def is_day_start(moment: datetime, tz: ZoneInfo) -> bool:
    local = moment.astimezone(tz)
    return (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0)


def event_time(language: str, moment: datetime, precision: str, tz: ZoneInfo) -> str:
    """Day-precision events are shown as the plain date; others as a Discord timestamp."""
    if precision == "date":
        return plain_date(language, moment, tz)
    return stamp(moment, "f")


def end_of_previous_day(language: str, moment: datetime, tz: ZoneInfo) -> str:
    """A deadline at local midnight read as "by the end of <the day before>"."""
    day = moment.astimezone(tz) - timedelta(days=1)
    return t(language, "date.by_end_of", date=plain_date(language, day, tz))


def link(name: str | None, url: str | None) -> str:
    if not url:
        return name or ""
    label = (name or url).replace("[", "(").replace("]", ")")
    return f"[{label}]({url})"


def embed_size(embed: Embed) -> int:
    """Characters Discord counts towards the 6,000 limit of one message's embeds."""
    total = len(embed.get("title", "")) + len(embed.get("description", ""))
    total += len(embed.get("footer", {}).get("text", ""))
    total += len(embed.get("author", {}).get("name", ""))
    for f in embed.get("fields", []):
        total += len(f["name"]) + len(f["value"])
    return total


def discord_moment(language: str, tz: ZoneInfo) -> Callable[[Moment], str]:
    """How a Discord message writes a status line's moment."""

    def write(m: Moment) -> str:
        if m.style == "day":
            return plain_date(language, m.at, tz)
        if m.style == "by_end_of":
            return end_of_previous_day(language, m.at, tz)
        if m.style == "time":
            return stamp(m.at, "F")
        return moment_text(m.at)

    return write
