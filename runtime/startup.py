"""What every start does before anything else: migrate, register the items, load the seeds."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
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
    await _open_sqlite_file(engine)
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


async def _open_sqlite_file(engine: AsyncEngine) -> None:
    """Open a SQLite file once without aiosqlite, so that a file that cannot be opened fails here.

    When aiosqlite fails to open a file it stops its worker thread without waiting for it;
    the thread then finds the event loop closed as the process stops and prints its own
    traceback after ours (aiosqlite issue #241). sqlite3 raises the same error at once.
    """
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return
    if database.startswith("file:"):
        return
    await asyncio.to_thread(_open_and_close, database)


def _open_and_close(database: str) -> None:
    sqlite3.connect(database).close()
