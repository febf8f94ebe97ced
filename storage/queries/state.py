from __future__ import annotations

from sqlmodel import col, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import BotState, utcnow
from storage.queries._insert import insert_ignoring_conflicts, table_of


async def get_state(session: AsyncSession, *, key: str) -> str | None:
    row = await session.get(BotState, key)
    return row.value if row else None


async def set_state(session: AsyncSession, *, key: str, value: str) -> None:
    row = await session.get(BotState, key)
    if row is None:
        row = BotState(key=key, value=value)
    else:
        row.value, row.updated_at = value, utcnow()
    session.add(row)


async def advance_state(session: AsyncSession, *, key: str, value: str) -> None:
    """Set ``key`` to ``value`` unless it already holds a greater one (values compare as text).

    Write-only (no read first), so that two processes advancing it together on SQLite
    queue for the lock instead of deadlocking on a read-then-write upgrade.
    """
    await insert_ignoring_conflicts(
        session,
        table=table_of(BotState),
        rows=[{"key": key, "value": value, "updated_at": utcnow()}],
        conflict=["key"],
    )
    await session.exec(
        update(BotState)
        .where(col(BotState.key) == key, col(BotState.value) < value)
        .values(value=value, updated_at=utcnow())
    )
