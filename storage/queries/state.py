from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import BotState, utcnow


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
