from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, cast, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.engine import SessionFactory, writing
from storage.models import (
    CustomDeadline,
    GuildSettings,
    KnownDeadline,
    ReminderDelivery,
    TimelineEvent,
)
from storage.queries._insert import insert_ignoring_conflicts, insert_or_skip, table_of

DeadlineId = tuple[int, str, datetime]  # (scope, key, at)


async def remember_deadlines(
    sessions: SessionFactory, *, deadlines: Iterable[DeadlineId], now: datetime
) -> dict[DeadlineId, datetime]:
    """Note the deadlines not seen before as first seen ``now``; return when each was first seen.

    It reads and writes in separate transactions: on SQLite, one transaction that
    reads and then writes can deadlock with another process doing the same.
    """
    stmt = select(
        KnownDeadline.scope,
        KnownDeadline.deadline_key,
        KnownDeadline.deadline_at,
        KnownDeadline.first_seen_at,
    ).where(col(KnownDeadline.deadline_at) > now)
    async with sessions() as session:
        seen = {(s, k, at): first for s, k, at, first in (await session.exec(stmt)).all()}
    wanted = set(deadlines)
    new = [
        {"scope": s, "deadline_key": k, "deadline_at": at, "first_seen_at": now}
        for s, k, at in wanted
        if (s, k, at) not in seen
    ]
    if new:
        async with writing(sessions) as session:
            # One statement, many parameter sets: the driver's executemany, not a huge VALUES.
            conn = await session.connection()
            insert = insert_or_skip(
                conn.dialect.name,
                table_of(KnownDeadline),
                ["scope", "deadline_key", "deadline_at"],
            )
            for start in range(0, len(new), 20_000):
                await conn.execute(insert, new[start : start + 20_000])
            await session.commit()
    return {d: seen.get(d, now) for d in wanted}


def _row(
    *, guild_id: int, item_id: int, key: str, at: datetime, offset: int, due_at: datetime
) -> dict[str, object]:
    return {
        "guild_id": guild_id,
        "item_id": item_id,
        "deadline_key": key,
        "deadline_at": at,
        "offset_seconds": offset,
        "due_at": due_at,
        "late": False,
    }


async def claim(
    session: AsyncSession,
    *,
    guild_id: int,
    item_id: int,
    key: str,
    at: datetime,
    offset: int,
    due_at: datetime,
    state: str,
    claimed_by: str,
    now: datetime,
) -> bool:
    """Create the delivery row in ``state``; False when another claim (or a drop) came first."""
    row = _row(guild_id=guild_id, item_id=item_id, key=key, at=at, offset=offset, due_at=due_at)
    row.update(state=state, claimed_by=claimed_by, claimed_at=now)
    created = await insert_ignoring_conflicts(
        session,
        table=table_of(ReminderDelivery),
        rows=[row],
        conflict=["guild_id", "deadline_key", "deadline_at", "offset_seconds"],
    )
    return created == 1


def _one(guild_id: int, key: str, at: datetime, offset: int) -> list[Any]:
    return [
        col(ReminderDelivery.guild_id) == guild_id,
        col(ReminderDelivery.deadline_key) == key,
        col(ReminderDelivery.deadline_at) == at,
        col(ReminderDelivery.offset_seconds) == offset,
    ]


async def record_outcome(
    session: AsyncSession,
    *,
    guild_id: int,
    key: str,
    at: datetime,
    offset: int,
    message_id: int | None,
    late: bool,
    now: datetime,
) -> None:
    """Sent (with its message) or, without a message, dropped; one UPDATE, no read first.

    Writing first matters on SQLite: a transaction that reads and then writes can
    deadlock with another process doing the same, where a plain write just waits.
    """
    values: dict[str, Any] = (
        {"state": "sent", "message_id": message_id, "late": late, "sent_at": now}
        if message_id is not None
        else {"state": "dropped"}
    )
    await session.exec(
        update(ReminderDelivery).where(*_one(guild_id, key, at, offset)).values(**values)
    )


async def mark(session: AsyncSession, *, delivery_id: int, state: str) -> None:
    await session.exec(
        update(ReminderDelivery).where(col(ReminderDelivery.id) == delivery_id).values(state=state)
    )


async def unfinished(session: AsyncSession) -> Sequence[ReminderDelivery]:
    """Reminders claimed but not recorded as sent: a process died between the two."""
    stmt = select(ReminderDelivery).where(col(ReminderDelivery.state) == "claimed")
    return (await session.exec(stmt.order_by(col(ReminderDelivery.due_at)))).all()


@dataclass(frozen=True, slots=True)
class PlanInputs:
    """What a re-plan reads: plain rows, since ORM objects cost seconds at 10,000 guilds."""

    # (guild id, offsets text) of the guilds with a reminders channel.
    guilds: Sequence[tuple[int, str]]
    # Guilds with stage changes of their own (their computed deadlines differ).
    own: set[int]
    # (id, guild, item, title, due as epoch seconds, created as epoch seconds).
    customs: Sequence[tuple[int, int, int, str, int, int]]


def _epoch_seconds(dialect: str) -> Callable[[Any], Any]:
    """A column as whole POSIX seconds, computed by the database (no datetime per row)."""
    if dialect == "postgresql":
        return lambda column: func.floor(func.extract("epoch", column))
    # SQLite stores the naive UTC text that UTCDateTime writes.
    return lambda column: cast(func.strftime("%s", column), Integer)


async def plan_inputs(session: AsyncSession, *, now: datetime) -> PlanInputs:
    guilds = (
        await session.exec(
            select(GuildSettings.guild_id, GuildSettings.reminder_offsets).where(
                col(GuildSettings.reminders_channel_id).is_not(None)
            )
        )
    ).all()
    own = set(
        (
            await session.exec(
                select(TimelineEvent.guild_id)
                .distinct()
                .where(
                    col(TimelineEvent.guild_id).is_not(None),
                    col(TimelineEvent.stage).is_not(None),
                    col(TimelineEvent.deleted_at).is_(None),
                )
            )
        ).all()
    )
    conn = await session.connection()
    epoch = _epoch_seconds(conn.dialect.name)
    customs = (
        await conn.execute(
            sa_select(
                col(CustomDeadline.id),
                col(CustomDeadline.guild_id),
                col(CustomDeadline.item_id),
                col(CustomDeadline.title),
                epoch(col(CustomDeadline.due_at)),
                epoch(col(CustomDeadline.created_at)),
            ).where(col(CustomDeadline.deleted_at).is_(None), col(CustomDeadline.due_at) > now)
        )
    ).all()
    return PlanInputs(
        guilds=[(g, o) for g, o in guilds],
        own={g for g in own if g is not None},
        customs=[(a, b, c, d, int(e), int(f)) for a, b, c, d, e, f in customs],
    )
