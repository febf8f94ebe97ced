"""What every start does before anything else: migrate, register the items, load the seeds."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from storage.engine import SessionFactory, writing
from storage.migrate import upgrade
from storage.queries.events import seed_events
from storage.queries.items import sync_items
from tracker.items import ItemSpec

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Prepared:
    item_ids: dict[str, int]
    seeded: int


async def prepare_database(
    engine: AsyncEngine, sessions: SessionFactory, *, items: tuple[ItemSpec, ...]
) -> Prepared:
    await upgrade(engine)
    added = 0
    async with writing(sessions) as session:
        ids = await sync_items(session, specs=items)
        for spec in items:
            added += await seed_events(
                session, item_id=ids[spec.key], item_key=spec.key, seeds=spec.seed
            )
        await session.commit()
    log.info("%d items ready, %d seed events added", len(ids), added)
    return Prepared(item_ids=ids, seeded=added)
