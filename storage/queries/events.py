from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from storage.models import EventRevision, TimelineEvent, utcnow
from storage.queries._insert import insert_ignoring_conflicts, table_of
from tracker.items import SeedEvent
from tracker.model import EventFact, Precision


def to_fact(event: TimelineEvent) -> EventFact:
    return EventFact(
        occurred_at=event.occurred_at,
        stage=event.stage,
        precision=Precision(event.precision),
        order=event.id or 0,
    )


def _visible(
    stmt: SelectOfScalar[TimelineEvent], *, item_id: int, guild_id: int | None
) -> SelectOfScalar[TimelineEvent]:
    # A guild sees the shared history (guild_id NULL) and what its own moderators recorded.
    scope: ColumnElement[bool] = col(TimelineEvent.guild_id).is_(None)
    if guild_id is not None:
        scope = or_(scope, col(TimelineEvent.guild_id) == guild_id)
    return stmt.where(
        col(TimelineEvent.item_id) == item_id,
        col(TimelineEvent.deleted_at).is_(None),
        scope,
    )


async def list_events(
    session: AsyncSession, *, item_id: int, guild_id: int | None = None
) -> Sequence[TimelineEvent]:
    """Every visible event of an item, oldest first."""
    stmt = _visible(select(TimelineEvent), item_id=item_id, guild_id=guild_id).order_by(
        col(TimelineEvent.occurred_at), col(TimelineEvent.id)
    )
    return (await session.exec(stmt)).all()


async def guild_timeline(
    session: AsyncSession, *, item_ids: Sequence[int], guild_id: int | None
) -> Sequence[TimelineEvent]:
    """Every visible event of ``item_ids`` for a guild, item by item, oldest first: one query."""
    scope: ColumnElement[bool] = col(TimelineEvent.guild_id).is_(None)
    if guild_id is not None:
        scope = or_(scope, col(TimelineEvent.guild_id) == guild_id)
    stmt = (
        select(TimelineEvent)
        .where(
            col(TimelineEvent.item_id).in_(list(item_ids)),
            col(TimelineEvent.deleted_at).is_(None),
            scope,
        )
        .order_by(col(TimelineEvent.item_id), col(TimelineEvent.occurred_at), col(TimelineEvent.id))
    )
    return (await session.exec(stmt)).all()


async def stage_events(
    session: AsyncSession, *, item_id: int, guild_id: int | None = None
) -> Sequence[TimelineEvent]:
    """The visible events that change the item's stage, oldest first."""
    stmt = (
        _visible(select(TimelineEvent), item_id=item_id, guild_id=guild_id)
        .where(col(TimelineEvent.stage).is_not(None))
        .order_by(col(TimelineEvent.occurred_at), col(TimelineEvent.id))
    )
    return (await session.exec(stmt)).all()


async def count_events(session: AsyncSession, *, item_id: int, guild_id: int | None = None) -> int:
    stmt = _visible(
        select(func.count()).select_from(TimelineEvent),  # type: ignore[arg-type]
        item_id=item_id,
        guild_id=guild_id,
    )
    count: int = (await session.exec(stmt)).one()  # type: ignore[assignment]
    return count


async def page_events(
    session: AsyncSession, *, item_id: int, guild_id: int | None, page: int, per_page: int = 10
) -> Sequence[TimelineEvent]:
    """Page ``page`` (1-based) of an item's visible events, oldest first."""
    stmt = (
        _visible(select(TimelineEvent), item_id=item_id, guild_id=guild_id)
        .order_by(col(TimelineEvent.occurred_at), col(TimelineEvent.id))
        .offset(max(page - 1, 0) * per_page)
        .limit(per_page)
    )
    return (await session.exec(stmt)).all()


async def latest_event(
    session: AsyncSession,
    *,
    item_id: int,
    guild_id: int | None = None,
    before: datetime | None = None,
) -> TimelineEvent | None:
    """The most recent visible event (at or before ``before`` when given)."""
    stmt = _visible(select(TimelineEvent), item_id=item_id, guild_id=guild_id)
    if before is not None:
        stmt = stmt.where(col(TimelineEvent.occurred_at) <= before)
    stmt = stmt.order_by(col(TimelineEvent.occurred_at).desc(), col(TimelineEvent.id).desc()).limit(
        1
    )
    return (await session.exec(stmt)).first()


async def seed_events(
    session: AsyncSession, *, item_id: int, item_key: str, seeds: Sequence[SeedEvent]
) -> int:
    """Insert the seed events not yet stored (by seed key); return how many were new."""
    now = utcnow()
    rows = [
        {
            "item_id": item_id,
            "guild_id": None,
            "occurred_at": seed.occurred_at,
            "precision": str(seed.precision),
            "summary_en": seed.summary_en,
            "summary_ko": seed.summary_ko,
            "stage": seed.stage,
            "source_name": seed.source_name,
            "source_url": seed.source_url,
            "recorded_at": now,
            "seed_key": f"{item_key}/{seed.key}",
            "revision": 1,
        }
        for seed in seeds
    ]
    return await insert_ignoring_conflicts(
        session,
        table=table_of(TimelineEvent),
        rows=rows,
        conflict=["seed_key"],
    )


async def get_event(session: AsyncSession, *, event_id: int) -> TimelineEvent | None:
    return await session.get(TimelineEvent, event_id)


def snapshot(event: TimelineEvent) -> dict[str, object]:
    """An event's recorded content as JSON-ready values, for the audit log."""
    return {
        "item_id": event.item_id,
        "occurred_at": event.occurred_at.isoformat(),
        "precision": event.precision,
        "summary_en": event.summary_en,
        "summary_ko": event.summary_ko,
        "stage": event.stage,
        "source_name": event.source_name,
        "source_url": event.source_url,
        "revision": event.revision,
        "deleted": event.deleted_at is not None,
    }


async def save_revision(
    session: AsyncSession, *, event: TimelineEvent, edited_by: int, edited_at: datetime
) -> None:
    """Keep the event as it is now, before an edit changes it."""
    assert event.id is not None
    session.add(
        EventRevision(
            event_id=event.id,
            revision=event.revision,
            occurred_at=event.occurred_at,
            precision=event.precision,
            summary_en=event.summary_en,
            summary_ko=event.summary_ko,
            stage=event.stage,
            source_name=event.source_name,
            source_url=event.source_url,
            edited_by=edited_by,
            edited_at=edited_at,
        )
    )
