"""Checking what a moderator typed, before anything is stored (SPEC §3, bad input)."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from services.errors import UserError
from tracker.model import Precision
from tracker.when import WhenError, parse_when

SUMMARY_LIMIT = 1000
SOURCE_NAME_LIMIT = 200
URL_LIMIT = 2000
REASON_LIMIT = 500
TITLE_LIMIT = 200
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


def text(field: str, value: str, limit: int) -> str:
    value = value.strip()
    if not value:
        raise UserError("invalid.empty", field=field)
    if len(value) > limit:
        raise UserError("invalid.too_long", field=field, limit=limit, length=len(value))
    return value


def optional_text(field: str, value: str | None, limit: int) -> str | None:
    return None if value is None else text(field, value, limit)


def url(field: str, value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if len(value) > URL_LIMIT:
        raise UserError("invalid.too_long", field=field, limit=URL_LIMIT, length=len(value))
    if not _URL.match(value):
        raise UserError("invalid.url", field=field, value=value[:100])
    return value


def when(field: str, value: str, tz: ZoneInfo) -> tuple[datetime, Precision]:
    try:
        return parse_when(value, tz)
    except WhenError:
        raise UserError("invalid.when", field=field, value=value[:100]) from None


def stage(field: str, value: str | None, stages: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if value not in stages:
        raise UserError(
            "invalid.stage_unknown", field=field, value=value[:50], stages=", ".join(stages)
        )
    return value
