"""The official source's row (its health and next poll) and what its polls record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, and_, exists, insert, literal, not_, or_, select
from sqlmodel import col, update
from sqlmodel import select as sm_select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Announcement,
    GuildSettings,
    Item,
    OfficialBill,
    OfficialSource,
    TimelineEvent,
)
from storage.queries._insert import insert_ignoring_conflicts, table_of
from storage.types import UTCDateTime

AN = table_of(Announcement)
GS = table_of(GuildSettings)
IT = table_of(Item)
OFFER = "offer"


async def ensure_official_source(session: AsyncSession, *, key: str, name: str) -> None:
    """Create the source's row once (two processes starting together make one)."""
    await insert_ignoring_conflicts(
        session,
        table=table_of(OfficialSource),
        rows=[{"key": key, "name": name, "enabled": True, "consecutive_failures": 0}],
        conflict=["key"],
    )


async def get_official_source(session: AsyncSession, *, key: str) -> OfficialSource | None:
    return await session.get(OfficialSource, key)


def _due(now: datetime) -> Any:
    """Its poll due; disabled, only when its next probe is (as a news source's)."""
    return or_(
        and_(
            col(OfficialSource.enabled),
            or_(
                col(OfficialSource.next_poll_at).is_(None),
                col(OfficialSource.next_poll_at) <= now,
            ),
        ),
        and_(
            not_(col(OfficialSource.enabled)),
            col(OfficialSource.next_poll_at).is_not(None),
            col(OfficialSource.next_poll_at) <= now,
        ),
    )


async def lease_official_source(
    session: AsyncSession, *, key: str, now: datetime, lease_until: datetime
) -> OfficialSource | None:
    """The source if due at ``now``, taken for this process alone until ``lease_until``.

    As storage/queries/news.lease_due_sources: call it in a ``writing()`` transaction and
    commit; its ``next_poll_at`` becomes ``lease_until``, so no other process sees it due
    meanwhile, and if this one dies mid-poll it falls due again when the lease ends.
    """
    stmt = (
        sm_select(OfficialSource)
        .where(col(OfficialSource.key) == key, _due(now))
        # PostgreSQL: another process leasing it right now is passed over, not waited
        # for; SQLite's writing() (BEGIN IMMEDIATE) already keeps other writers out.
        .with_for_update(skip_locked=True)
    )
    row = (await session.exec(stmt)).first()
    if row is None:
        return None
    before = OfficialSource(**row.model_dump())
    await session.exec(
        update(OfficialSource)
        .where(col(OfficialSource.key) == key)
        .values(next_poll_at=lease_until)
        .execution_options(synchronize_session=False)
    )
    return before


async def official_keys_recorded(session: AsyncSession, *, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` (events' natural keys) are already in the timeline, hidden or not.

    A hidden one stays recorded: a moderator's removal must not be undone by the next poll.
    """
    if not keys:
        return set()
    stmt = sm_select(TimelineEvent.seed_key).where(col(TimelineEvent.seed_key).in_(list(keys)))
    return {k for k in (await session.exec(stmt)).all() if k is not None}


async def news_channels(session: AsyncSession) -> list[tuple[int, int]]:
    """(guild id, news channel id) of every guild with a news channel: whom to warn."""
    stmt = sm_select(GuildSettings.guild_id, GuildSettings.news_channel_id).where(
        col(GuildSettings.news_channel_id).is_not(None)
    )
    return [(g, c) for g, c in (await session.exec(stmt)).all() if c is not None]


async def any_bill_seen(session: AsyncSession) -> bool:
    """Whether the official record was ever read (its first poll offers nothing old)."""
    return (await session.exec(sm_select(OfficialBill.bill_no).limit(1))).first() is not None


async def bills_seen(session: AsyncSession, *, bill_nos: Sequence[str]) -> set[str]:
    if not bill_nos:
        return set()
    stmt = sm_select(OfficialBill.bill_no).where(col(OfficialBill.bill_no).in_(list(bill_nos)))
    return set((await session.exec(stmt)).all())


async def add_bill(session: AsyncSession, *, bill: OfficialBill) -> bool:
    """Record a bill as seen; False when it already was (then it must not be offered)."""
    row = bill.model_dump()
    new = await insert_ignoring_conflicts(
        session, table=table_of(OfficialBill), rows=[row], conflict=["bill_no"]
    )
    return new > 0


async def get_bill(session: AsyncSession, *, bill_no: str) -> OfficialBill | None:
    return await session.get(OfficialBill, bill_no)


async def record_offers(
    session: AsyncSession, *, bill_no: str, payload: dict[str, Any], now: datetime
) -> int:
    """The bill's offer for every guild with a news channel none of whose own visible items
    follows it, in one INSERT .. SELECT inside the poll's transaction; returns how many.

    (Configured items are shared by every guild: the caller offers none when one follows.)
    """
    follows = exists().where(
        IT.c.guild_id == GS.c.guild_id, IT.c.bill_no == bill_no, IT.c.hidden_at.is_(None)
    )
    source = select(
        GS.c.guild_id,
        GS.c.news_channel_id,
        literal(OFFER, String()),
        literal(bill_no, String()),
        literal(OFFER, String()),
        literal(payload, JSON()),
        literal("pending", String()),
        literal(now, UTCDateTime()),
        literal(0, Integer()),
    ).where(GS.c.news_channel_id.is_not(None), not_(follows))
    columns = [
        "guild_id",
        "channel_id",
        "kind",
        "bill_no",
        "action",
        "payload",
        "state",
        "created_at",
        "attempts",
    ]
    result = await (await session.connection()).execute(insert(AN).from_select(columns, source))
    return int(result.rowcount or 0)
