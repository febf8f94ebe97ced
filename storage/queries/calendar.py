"""Calendar feeds: a guild's secret, and the entries its feed has given (SPEC §8)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CalendarEntry, CalendarSecret
from storage.queries._insert import insert_ignoring_conflicts, table_of


async def get_secret(session: AsyncSession, *, guild_id: int) -> CalendarSecret | None:
    return await session.get(CalendarSecret, guild_id)


async def guild_of_secret(session: AsyncSession, *, secret: str) -> int | None:
    """The guild whose calendar ``secret`` opens; found through the unique index."""
    stmt = select(CalendarSecret.guild_id).where(col(CalendarSecret.secret) == secret)
    return (await session.exec(stmt)).first()


async def calendar_entries(session: AsyncSession, *, guild_id: int) -> Sequence[CalendarEntry]:
    stmt = select(CalendarEntry).where(col(CalendarEntry.guild_id) == guild_id)
    return (await session.exec(stmt)).all()


async def drop_passed_entries(session: AsyncSession, *, guild_id: int, now: datetime) -> None:
    await session.exec(
        delete(CalendarEntry).where(
            col(CalendarEntry.guild_id) == guild_id, col(CalendarEntry.starts_at) <= now
        )
    )


async def add_calendar_entries(session: AsyncSession, *, rows: Sequence[dict[str, Any]]) -> None:
    """New entries; one another process added meanwhile is left as it is."""
    await insert_ignoring_conflicts(
        session, table=table_of(CalendarEntry), rows=rows, conflict=("guild_id", "uid")
    )


async def update_calendar_entries(
    session: AsyncSession, *, guild_id: int, changes: Sequence[dict[str, Any]]
) -> None:
    """Apply ``changes`` (one statement, executed for each) to the entries they name.

    Each change carries the ``old_sequence`` it was worked out from: one that another
    process already applied matches no row, so a SEQUENCE never goes up twice for one move.
    """
    if not changes:
        return
    stmt = (
        update(table_of(CalendarEntry))
        .where(
            table_of(CalendarEntry).c.guild_id == guild_id,
            table_of(CalendarEntry).c.uid == bindparam("b_uid"),
            table_of(CalendarEntry).c.sequence == bindparam("old_sequence"),
        )
        .values(
            starts_at=bindparam("b_starts_at"),
            effect_at=bindparam("b_effect_at"),
            title=bindparam("b_title"),
            sequence=bindparam("b_sequence"),
            cancelled_at=bindparam("b_cancelled_at"),
            updated_at=bindparam("b_updated_at"),
        )
    )
    conn = await session.connection()
    await conn.execute(stmt, list(changes))
