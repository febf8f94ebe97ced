"""Calendar feeds (SPEC §8): a guild's secret link, and its deadlines with stable UIDs.

Each request reconciles the deadlines to come with the entries the feed gave before, in
one pass over both sets: a new deadline gets SEQUENCE 0; one whose time moved keeps its
UID with SEQUENCE + 1; one that no longer applies stays, cancelled (SEQUENCE + 1), until
its time passes; passed ones drop out. Nothing is written when nothing changed.
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from config.settings import Settings
from i18n import language_for
from services.context import Services
from services.items import items_for
from services.reading import upcoming_deadlines
from storage.engine import writing
from storage.models import CalendarEntry, CalendarSecret
from storage.queries.audit import record_audit
from storage.queries.calendar import (
    add_calendar_entries,
    calendar_entries,
    drop_passed_entries,
    get_secret,
    guild_of_secret,
    update_calendar_entries,
)
from tracker.items import ItemSpec
from tracker.model import Deadline
from views.calendar import CalendarEntryView, CalendarLink
from views.deadlines import DeadlineRow

log = logging.getLogger(__name__)

# secrets.token_urlsafe(24): 32 characters of the URL-safe base64 alphabet.
_SECRET = re.compile(r"[A-Za-z0-9_-]{32}")
FALLBACK_HOST = "motionwatch.invalid"


def new_secret() -> str:
    return secrets.token_urlsafe(24)


def calendar_path(secret: str) -> str:
    return f"/calendar/{secret}.ics"


def calendar_link(settings: Settings, secret: str) -> CalendarLink:
    path = calendar_path(secret)
    return CalendarLink(path, f"{settings.public_url}{path}" if settings.public_url else None)


async def existing_secret(services: Services, *, guild_id: int) -> str | None:
    async with services.sessions() as session:
        row = await get_secret(session, guild_id=guild_id)
    return row.secret if row is not None else None


async def ensure_secret(services: Services, *, guild_id: int, actor_id: int) -> str:
    """The guild's secret, made (and audited) the first time it is asked for."""
    found = await existing_secret(services, guild_id=guild_id)
    if found is not None:
        return found
    return await _set_secret(services, guild_id=guild_id, actor_id=actor_id, rotate=False)


async def rotate_secret(services: Services, *, guild_id: int, actor_id: int) -> str:
    """A new secret for the guild; the old link answers 404 from the commit on."""
    return await _set_secret(services, guild_id=guild_id, actor_id=actor_id, rotate=True)


async def _set_secret(services: Services, *, guild_id: int, actor_id: int, rotate: bool) -> str:
    async with writing(services.sessions) as session:
        row = await get_secret(session, guild_id=guild_id)
        if row is not None and not rotate:
            return row.secret  # made by a concurrent /setup calendar show
        now = services.clock()
        secret = new_secret()
        existed = row is not None
        if row is None:
            row = CalendarSecret(guild_id=guild_id, secret=secret, created_at=now)
        row.secret, row.created_by, row.created_at = secret, actor_id, now
        session.add(row)
        # The secret itself never goes into the audit log, which moderators may read.
        await record_audit(
            session,
            guild_id=guild_id,
            actor_id=actor_id,
            action="setup.calendar_rotate" if rotate else "setup.calendar_create",
            target_type="calendar_secret",
            target_id=str(guild_id),
            before={"secret": "set"} if existed else None,
            after={"secret": "rotated" if rotate else "created"},
            at=now,
        )
        await session.commit()
    return secret


async def guild_for_secret(services: Services, secret: str) -> int | None:
    """The guild a calendar link is for; None for a malformed, unknown or rotated secret."""
    if not _SECRET.fullmatch(secret):
        return None
    async with services.sessions() as session:
        return await guild_of_secret(session, secret=secret)


async def guild_language(services: Services, guild_id: int) -> str:
    settings = await services.guild_settings.get(guild_id)
    return language_for(settings.language if settings else None, None)


def _uid(guild_id: int, item_key: str, deadline_key: str, host: str) -> str:
    return f"{guild_id}-{item_key}-{deadline_key}@{host}"


def _host(settings: Settings) -> str:
    if settings.public_url:
        return urlsplit(settings.public_url).hostname or FALLBACK_HOST
    return FALLBACK_HOST


def _row_of(entry: CalendarEntry, spec: ItemSpec) -> DeadlineRow:
    deadline = Deadline(entry.deadline_key, entry.kind, entry.starts_at, entry.effect_at)
    return DeadlineRow(spec, deadline, entry.title, entry.custom_id)


async def reconcile(services: Services, *, guild_id: int, now: datetime) -> list[CalendarEntryView]:
    """The guild's calendar as of ``now``: every deadline to come, and the cancelled ones."""
    rows = await upcoming_deadlines(services, guild_id=guild_id, item=None, now=now)
    async with services.sessions() as session:
        stored = await calendar_entries(session, guild_id=guild_id)
    seen = (await items_for(services, guild_id)).specs
    specs = {services.item_ids[s.key]: s for s in seen}
    by_key = {(e.item_id, e.deadline_key): e for e in stored}
    host = _host(services.settings)
    out: list[CalendarEntryView] = []
    inserts: list[dict[str, Any]] = []
    changes: list[dict[str, Any]] = []
    current: set[tuple[int, str]] = set()
    for row in rows:
        item_id = services.item_ids[row.spec.key]
        key = (item_id, row.deadline.key)
        current.add(key)
        entry = by_key.get(key)
        if entry is None:
            uid = _uid(guild_id, row.spec.key, row.deadline.key, host)
            inserts.append(
                {
                    "guild_id": guild_id,
                    "uid": uid,
                    "item_id": item_id,
                    "deadline_key": row.deadline.key,
                    "kind": row.deadline.kind,
                    "title": row.title,
                    "custom_id": row.custom_id,
                    "starts_at": row.deadline.at,
                    "effect_at": row.deadline.effect_at,
                    "sequence": 0,
                    "cancelled_at": None,
                    "updated_at": now,
                }
            )
            out.append(CalendarEntryView(uid, row, 0, False, now))
        elif entry.starts_at != row.deadline.at or entry.cancelled_at is not None:
            # Moved, or back after it was cancelled: the same UID, a new version.
            changes.append(_change(entry, row, now, cancelled=False))
            out.append(CalendarEntryView(entry.uid, row, entry.sequence + 1, False, now))
        else:
            out.append(CalendarEntryView(entry.uid, row, entry.sequence, False, entry.updated_at))
    passed = False
    for key, entry in by_key.items():
        spec = specs.get(entry.item_id)
        if key in current or spec is None:
            continue
        if entry.starts_at <= now:
            passed = True
            continue
        row = _row_of(entry, spec)
        if entry.cancelled_at is None:
            changes.append(_change(entry, row, now, cancelled=True))
            out.append(CalendarEntryView(entry.uid, row, entry.sequence + 1, True, now))
        else:
            out.append(CalendarEntryView(entry.uid, row, entry.sequence, True, entry.updated_at))
    if inserts or changes or passed:
        async with writing(services.sessions) as session:
            await drop_passed_entries(session, guild_id=guild_id, now=now)
            await add_calendar_entries(session, rows=inserts)
            await update_calendar_entries(session, guild_id=guild_id, changes=changes)
            await session.commit()
        log.debug("calendar of guild %d: %d new, %d changed", guild_id, len(inserts), len(changes))
    out.sort(key=lambda e: (e.row.deadline.at, e.uid))
    return out


def _change(
    entry: CalendarEntry, row: DeadlineRow, now: datetime, *, cancelled: bool
) -> dict[str, Any]:
    return {
        "b_uid": entry.uid,
        "old_sequence": entry.sequence,
        "b_starts_at": row.deadline.at,
        "b_effect_at": row.deadline.effect_at,
        "b_title": row.title,
        "b_sequence": entry.sequence + 1,
        "b_cancelled_at": now if cancelled else None,
        "b_updated_at": now,
    }


def upcoming_only(
    entries: list[CalendarEntryView], item: ItemSpec | None
) -> list[CalendarEntryView]:
    """What /export format:ics gives: the deadlines /deadlines shows, without cancelled ones."""
    return [e for e in entries if not e.cancelled and (item is None or e.row.spec.key == item.key)]
