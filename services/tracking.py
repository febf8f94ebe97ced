"""An item's state for one guild: its visible events read through its rule set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import TimelineEvent
from storage.queries.events import list_events, to_fact
from tracker.items import ItemSpec
from tracker.model import Assessment


@dataclass(frozen=True, slots=True)
class ItemStatus:
    spec: ItemSpec
    assessment: Assessment
    latest: TimelineEvent | None
    event_count: int


async def item_status(
    session: AsyncSession, *, spec: ItemSpec, item_id: int, guild_id: int | None, now: datetime
) -> ItemStatus:
    events = await list_events(session, item_id=item_id, guild_id=guild_id)
    past = [e for e in events if e.occurred_at <= now]
    return ItemStatus(
        spec=spec,
        assessment=spec.assess([to_fact(e) for e in events], now),
        latest=past[-1] if past else None,
        event_count=len(events),
    )
