"""Announcements in the store: recorded with their change, claimed, then posted or dropped.

pending -> sending (the claim, one UPDATE that only one process can make) -> posted with
its message, or dropped with the reason; a passing failure puts it back to pending.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, and_, func, insert, literal, or_, select
from sqlmodel import col, update
from sqlmodel import select as sm_select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.shards import Shards
from storage.models import Announcement, GuildSettings
from storage.queries._insert import table_of
from storage.queries.shards import owned
from storage.types import UTCDateTime

AN = table_of(Announcement)
GS = table_of(GuildSettings)


_COLUMNS = [
    "guild_id",
    "channel_id",
    "event_id",
    "action",
    "payload",
    "state",
    "created_at",
    "attempts",
]


def _from_settings(*, event_id: int, action: str, payload: dict[str, Any], now: datetime) -> Any:
    """A change's pending announcement for each guild settings row with an updates channel."""
    return select(
        GS.c.guild_id,
        GS.c.updates_channel_id,
        literal(event_id, Integer()),
        literal(action, String()),
        literal(payload, JSON()),
        literal("pending", String()),
        literal(now, UTCDateTime()),
        literal(0, Integer()),
    ).where(GS.c.updates_channel_id.is_not(None))


async def record_announcement(
    session: AsyncSession,
    *,
    guild_id: int,
    event_id: int,
    action: str,
    payload: dict[str, Any],
    now: datetime,
) -> int | None:
    """Record the change's announcement in the guild's updates channel as it is now.

    One INSERT .. SELECT from the guild's settings, inside the change's transaction: no
    row when the guild has no updates channel. Returns the new row's id, or None.
    """
    source = _from_settings(event_id=event_id, action=action, payload=payload, now=now)
    stmt = (
        insert(AN).from_select(_COLUMNS, source.where(GS.c.guild_id == guild_id)).returning(AN.c.id)
    )
    new = (await (await session.connection()).execute(stmt)).scalar_one_or_none()
    return None if new is None else int(new)


async def record_announcements_everywhere(
    session: AsyncSession,
    *,
    event_id: int,
    action: str,
    payload: dict[str, Any],
    now: datetime,
) -> int:
    """A shared change's announcement for every guild with an updates channel, in one
    INSERT .. SELECT inside the change's transaction; returns how many were recorded."""
    source = _from_settings(event_id=event_id, action=action, payload=payload, now=now)
    stmt = insert(AN).from_select(_COLUMNS, source)
    result = await (await session.connection()).execute(stmt)
    return int(result.rowcount or 0)


async def to_deliver(
    session: AsyncSession,
    *,
    shards: Shards = Shards.ALL,
    guild_id: int | None = None,
    sending_claimed_before: datetime | None = None,
    every_sending: bool = False,
) -> Sequence[Announcement]:
    """Announcements to post, oldest first: the pending ones, and those left "sending".

    A row stays "sending" only while one process sends it, or after that process died
    (or could not record the outcome): ``every_sending`` takes them all (at start),
    ``sending_claimed_before`` only those claimed that long ago. Only this process's
    guilds (``shards``), and only ``guild_id``'s when given.
    """
    sending: Any = col(Announcement.state) == "sending"
    if not every_sending:
        sending = (
            and_(sending, col(Announcement.claimed_at) < sending_claimed_before)
            if sending_claimed_before is not None
            else literal(False)
        )
    stmt = sm_select(Announcement).where(
        or_(col(Announcement.state) == "pending", sending),
        owned(col(Announcement.guild_id), shards),
    )
    if guild_id is not None:
        stmt = stmt.where(col(Announcement.guild_id) == guild_id)
    return (await session.exec(stmt.order_by(col(Announcement.id)))).all()


async def claim(session: AsyncSession, *, announcement_id: int, now: datetime) -> bool:
    """pending -> sending; False when another delivery (or process) took it first."""
    result = await session.exec(
        update(Announcement)
        .where(col(Announcement.id) == announcement_id, col(Announcement.state) == "pending")
        .values(state="sending", claimed_at=now)
    )
    return bool(result.rowcount)


async def finish(
    session: AsyncSession,
    *,
    announcement_id: int,
    state: str,
    message_id: int | None = None,
    posted_at: datetime | None = None,
    reason: str | None = None,
    attempts: int | None = None,
) -> bool:
    """sending -> ``state``; False when it left "sending" meanwhile (another recorded it)."""
    values: dict[str, Any] = {"state": state}
    if message_id is not None:
        values["message_id"], values["posted_at"] = message_id, posted_at
    if reason is not None:
        values["reason"] = reason[:500]
    if attempts is not None:
        values["attempts"] = attempts
    result = await session.exec(
        update(Announcement)
        .where(col(Announcement.id) == announcement_id, col(Announcement.state) == "sending")
        .values(**values)
    )
    return bool(result.rowcount)


async def counts(session: AsyncSession, *, guild_id: int) -> dict[str, int]:
    """A guild's announcements by state: "posted", "dropped", and "waiting" (the rest)."""
    stmt = select(AN.c.state, func.count()).where(AN.c.guild_id == guild_id).group_by(AN.c.state)
    found = {"posted": 0, "dropped": 0, "waiting": 0}
    for state, count in (await (await session.connection()).execute(stmt)).all():
        key = state if state in ("posted", "dropped") else "waiting"
        found[key] += int(count)
    return found
