from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select
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


async def add_guild_item(
    session: AsyncSession,
    *,
    guild_id: int,
    slug: str,
    kind: str,
    rule_set: str,
    name_en: str,
    name_ko: str | None,
    bill_no: str | None,
    keywords: list[str],
    created_by: int,
    now: datetime,
) -> Item:
    """A guild's own item; its key is ``slug_<id>``, so unique without a retry.

    Configured keys cannot hold ``_`` (config.tracker.KEY_PATTERN): never a clash.
    """
    item = Item(
        # Unique placeholder until the id is known, in the same transaction.
        key=f"_{guild_id}_{now.timestamp()}"[:32],
        kind=kind,
        rule_set=rule_set,
        created_at=now,
        guild_id=guild_id,
        name_en=name_en,
        name_ko=name_ko,
        bill_no=bill_no,
        keywords=keywords,
        created_by=created_by,
    )
    session.add(item)
    await session.flush()
    item.key = f"{slug[: 31 - len(str(item.id))]}_{item.id}"
    session.add(item)
    await session.flush()
    return item


async def guild_items(
    session: AsyncSession, *, guild_id: int | None = None, visible: bool = True
) -> list[Item]:
    """Guild-owned items, oldest first: one guild's, or every guild's when None."""
    stmt = select(Item).where(col(Item.guild_id).is_not(None))
    if guild_id is not None:
        stmt = stmt.where(Item.guild_id == guild_id)
    if visible:
        stmt = stmt.where(col(Item.hidden_at).is_(None))
    result = await session.exec(stmt.order_by(col(Item.id)))
    return list(result.all())


async def guild_item_by_key(session: AsyncSession, *, guild_id: int, key: str) -> Item | None:
    result = await session.exec(
        select(Item).where(Item.guild_id == guild_id, Item.key == key).with_for_update()
    )
    return result.first()


async def hide_item(session: AsyncSession, *, item: Item, actor_id: int, now: datetime) -> None:
    item.hidden_at = now
    item.hidden_by = actor_id
    session.add(item)
    await session.flush()


async def items_by_bill_no(session: AsyncSession, *, bill_nos: Iterable[str]) -> list[Item]:
    """Visible guild items linked to any of ``bill_nos`` (every guild's), one query."""
    wanted = list(bill_nos)
    if not wanted:
        return []
    result = await session.exec(
        select(Item)
        .where(col(Item.bill_no).in_(wanted), col(Item.hidden_at).is_(None))
        .order_by(col(Item.id))
    )
    return list(result.all())


# The class of the per-guild lock below (the two-int4 form of pg_advisory_xact_lock).
TRACK_LOCK = 0x6D77_7472  # "mwtr"


async def lock_guild_items(session: AsyncSession, *, guild_id: int) -> None:
    """Until the transaction ends, no other one adds to ``guild_id``'s items (PostgreSQL).

    SQLite needs nothing: its writers already run one at a time.
    """
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        key = guild_id % 2**31  # int4; two guilds sharing one only wait for each other
        await conn.execute(sa_select(func.pg_advisory_xact_lock(TRACK_LOCK, key)))


async def guild_follows_bill(session: AsyncSession, *, guild_id: int, bill_no: str) -> bool:
    """Whether one of ``guild_id``'s own visible items is linked to ``bill_no``."""
    result = await session.exec(
        select(Item.id)
        .where(
            Item.guild_id == guild_id,
            Item.bill_no == bill_no,
            col(Item.hidden_at).is_(None),
        )
        .limit(1)
    )
    return result.first() is not None
