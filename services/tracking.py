"""An item's state for one guild: its visible events read through its rule set."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import TimelineEvent
from storage.queries.events import count_events, latest_event, stage_events, to_fact
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
    # Only stage changes move the rules, so only they are read, not the whole history.
    staged = await stage_events(session, item_id=item_id, guild_id=guild_id)
    return ItemStatus(
        spec=spec,
        assessment=spec.assess([to_fact(e) for e in staged], now),
        latest=await latest_event(session, item_id=item_id, guild_id=guild_id, before=now),
        event_count=await count_events(session, item_id=item_id, guild_id=guild_id),
    )
