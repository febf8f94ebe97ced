from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import CustomDeadline


async def upcoming_custom_deadlines(
    session: AsyncSession, *, guild_id: int, item_ids: Iterable[int], after: datetime
) -> Sequence[CustomDeadline]:
    stmt = (
        select(CustomDeadline)
        .where(
            col(CustomDeadline.guild_id) == guild_id,
            col(CustomDeadline.item_id).in_(list(item_ids)),
            col(CustomDeadline.deleted_at).is_(None),
            col(CustomDeadline.due_at) > after,
        )
        .order_by(col(CustomDeadline.due_at))
    )
    return (await session.exec(stmt)).all()
