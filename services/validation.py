"""Checking what a moderator typed, before anything is stored (SPEC §3, bad input)."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

from services.errors import UserError
from tracker.model import Precision
from tracker.when import EARLIEST, LATEST, WhenError, WhenRangeError, parse_when

SUMMARY_LIMIT = 1000
SOURCE_NAME_LIMIT = 200
URL_LIMIT = 2000
REASON_LIMIT = 500
TITLE_LIMIT = 200
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
# Row ids are INTEGER columns: PostgreSQL's holds at most 2^31 - 1, while a
# Discord integer option (and a button's custom id) can carry far more.
ID_MAX = 2**31 - 1
# An item option holds a key or a name, each at most 100 characters (config);
# the bot echoes an unknown one back, so longer text must not reach it.
ITEM_LIMIT = 100
# What a line break or an indent may be in text meant to hold several lines.
_MULTILINE_OK = frozenset("\n\t")


def row_id(field: str, value: int) -> int:
    if not 1 <= value <= ID_MAX:
        raise UserError("invalid.id_range", field=field, max=ID_MAX)
    return value


def clean(field: str, value: str, *, multiline: bool = False) -> str:
    """``value`` unchanged, or refused if it holds a control character or a lone surrogate.

    PostgreSQL refuses NUL in text, a lone surrogate cannot be encoded, and other
    controls (escape sequences, bells) only garble what the bot shows. Refusing
    rather than silently dropping them lets the member see what was wrong.
    """
    for position, char in enumerate(value, start=1):
        if multiline and char in _MULTILINE_OK:
            continue
        if unicodedata.category(char) in ("Cc", "Cs"):
            raise UserError(
                "invalid.control", field=field, char=f"U+{ord(char):04X}", position=position
            )
    return value


def text(field: str, value: str, limit: int, *, multiline: bool = False) -> str:
    value = clean(field, value.strip(), multiline=multiline)
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
    value = clean(field, value.strip())
    if len(value) > URL_LIMIT:
        raise UserError("invalid.too_long", field=field, limit=URL_LIMIT, length=len(value))
    if not _URL.match(value):
        raise UserError("invalid.url", field=field, value=value[:100])
    return value


def when(field: str, value: str, tz: ZoneInfo) -> tuple[datetime, Precision]:
    clean(field, value.strip())
    try:
        return parse_when(value, tz)
    except WhenRangeError:
        raise UserError(
            "invalid.when_range",
            field=field,
            value=value.strip()[:100],
            earliest=EARLIEST.isoformat(),
            latest=LATEST.isoformat(),
        ) from None
    except WhenError:
        raise UserError("invalid.when", field=field, value=value[:100]) from None


def stage(field: str, value: str | None, stages: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    value = clean(field, value.strip())
    if value not in stages:
        raise UserError(
            "invalid.stage_unknown", field=field, value=value[:50], stages=", ".join(stages)
        )
    return value
