from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Item, utcnow
from storage.queries._insert import insert_ignoring_conflicts, table_of
from tracker.items import ItemSpec


async def sync_items(session: AsyncSession, *, specs: Iterable[ItemSpec]) -> dict[str, int]:
    """Make sure every configured item has a row; return item ids by key."""
    specs = list(specs)
    rows = [
        {"key": s.key, "kind": str(s.kind), "rule_set": s.rule_set, "created_at": utcnow()}
        for s in specs
    ]
    await insert_ignoring_conflicts(session, table=table_of(Item), rows=rows, conflict=["key"])
    return await item_ids(session, keys=[s.key for s in specs])


async def item_ids(session: AsyncSession, *, keys: Iterable[str] | None = None) -> dict[str, int]:
    stmt = select(Item.key, Item.id)
    if keys is not None:
        stmt = stmt.where(Item.key.in_(list(keys)))  # type: ignore[attr-defined]
    result = await session.exec(stmt)
    return {key: int(item_id) for key, item_id in result.all() if item_id is not None}
