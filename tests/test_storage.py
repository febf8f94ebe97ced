"""The store on every back end: migrations, seeding, time zones, ids, paging, soft delete."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from config.tracker import load_tracker
from runtime.startup import prepare_database
from services.readcache import ReadCache
from services.tracking import item_status
from storage.engine import SessionFactory, create_engine, session_factory, writing
from storage.migrate import upgrade
from storage.models import GuildSettings, TimelineEvent, metadata
from storage.queries.events import count_events, list_events, page_events
from storage.queries.items import sync_items
from storage.queries.state import get_state, set_state
from tests.conftest import ROOT

KST = ZoneInfo("Asia/Seoul")
TRACKER = load_tracker(ROOT / "config" / "tracker.toml")
SEED_COUNT = {item.key: len(item.seed) for item in TRACKER.items}


def _diff(engine_sync_conn: object) -> list[object]:
    ctx = MigrationContext.configure(engine_sync_conn, opts={"compare_type": True})  # type: ignore[arg-type]
    return list(compare_metadata(ctx, metadata))


async def test_migrations_give_exactly_the_models(engine: AsyncEngine) -> None:
    await upgrade(engine)
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert tables == set(metadata.tables) | {"alembic_version"}


async def test_schema_comparison_notices_a_missing_index(engine: AsyncEngine) -> None:
    # The comparison above must be able to fail: take an index away and it reports it.
    await upgrade(engine)
    async with engine.begin() as conn:
        await conn.execute(text("DROP INDEX ix_timeline_event_page"))
    async with engine.connect() as conn:
        diff = await conn.run_sync(_diff)
    assert any("ix_timeline_event_page" in repr(d) for d in diff)


async def test_upgrade_twice_is_harmless(migrated: AsyncEngine) -> None:
    await upgrade(migrated)
    async with migrated.connect() as conn:
        version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    assert version == "0010"


async def test_seed_history_loads_once(migrated: AsyncEngine, sessions: SessionFactory) -> None:
    first = await prepare_database(migrated, sessions, items=TRACKER.items)
    second = await prepare_database(migrated, sessions, items=TRACKER.items)
    assert first.seeded == sum(SEED_COUNT.values())
    assert second.seeded == 0
    async with sessions() as session:
        for key, count in SEED_COUNT.items():
            assert await count_events(session, item_id=first.item_ids[key]) == count
        every = (await session.exec(select(TimelineEvent))).all()
    assert all(e.source_url and e.source_url.startswith(("http://", "https://")) for e in every)
    assert all(e.summary_en and e.summary_ko for e in every)


async def test_two_processes_starting_together_seed_once(database_url: str) -> None:
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        results = await asyncio.gather(
            *(prepare_database(e, session_factory(e), items=TRACKER.items) for e in engines)
        )
        assert sum(r.seeded for r in results) == sum(SEED_COUNT.values())
        async with session_factory(engines[0])() as session:
            total = len((await session.exec(select(TimelineEvent))).all())
        assert total == sum(SEED_COUNT.values())
    finally:
        for e in engines:
            await e.dispose()


async def test_status_from_the_store_matches_the_rules(
    migrated: AsyncEngine, sessions: SessionFactory
) -> None:
    prepared = await prepare_database(migrated, sessions, items=TRACKER.items)
    now = datetime(2026, 11, 23, 9, tzinfo=KST)
    reads = ReadCache(sessions)
    gsomia = await item_status(
        reads, spec=TRACKER.items[0], item_id=prepared.item_ids["gsomia"], guild_id=None, now=now
    )
    motion = await item_status(
        reads,
        spec=TRACKER.items[1],
        item_id=prepared.item_ids["han-minkoo-dismissal"],
        guild_id=None,
        now=now,
    )
    assert gsomia.assessment.facts["extensions"] == 10
    assert gsomia.assessment.facts["next_renewal"] == datetime(2027, 11, 23, tzinfo=KST)
    assert gsomia.assessment.facts["notice_deadline"] == datetime(2027, 8, 25, tzinfo=KST)
    assert gsomia.latest is not None and gsomia.latest.stage == "notice_withdrawn"
    assert motion.assessment.stage == "shelved"
    assert motion.assessment.since == datetime(2016, 11, 24, tzinfo=KST)


async def _item_id(sessions: SessionFactory) -> int:
    async with writing(sessions) as session:
        ids = await sync_items(session, specs=TRACKER.items)
        await session.commit()
    return ids["gsomia"]


def _event(item_id: int, at: datetime, n: int, guild_id: int | None = None) -> TimelineEvent:
    return TimelineEvent(
        item_id=item_id,
        guild_id=guild_id,
        occurred_at=at,
        precision="datetime",
        summary_en=f"event {n}",
    )


async def test_datetimes_come_back_utc_and_aware(sessions: SessionFactory) -> None:
    item_id = await _item_id(sessions)
    at = datetime(2019, 8, 23, 15, 25, 30, 123456, tzinfo=KST)
    async with writing(sessions) as session:
        session.add(_event(item_id, at, 1))
        await session.commit()
    async with sessions() as session:
        (stored,) = await list_events(session, item_id=item_id)
    assert stored.occurred_at == at
    assert stored.occurred_at.tzinfo is UTC
    assert stored.recorded_at.tzinfo is UTC


async def test_naive_datetimes_are_refused(sessions: SessionFactory) -> None:
    item_id = await _item_id(sessions)
    async with writing(sessions) as session:
        session.add(_event(item_id, datetime(2020, 1, 1), 1))  # noqa: DTZ001
        with pytest.raises(Exception, match="naive datetime"):
            await session.commit()


async def test_discord_ids_keep_all_64_bits(sessions: SessionFactory) -> None:
    big = 2**63 - 1
    async with writing(sessions) as session:
        session.add(GuildSettings(guild_id=big, news_channel_id=big - 1, ping_role_id=big - 2))
        await session.commit()
    async with sessions() as session:
        row = await session.get(GuildSettings, big)
    assert row is not None
    assert (row.news_channel_id, row.ping_role_id) == (big - 1, big - 2)


async def test_timeline_pages_oldest_first(sessions: SessionFactory) -> None:
    item_id = await _item_id(sessions)
    start = datetime(2020, 1, 1, tzinfo=UTC)
    async with writing(sessions) as session:
        # Inserted newest first, so the order must come from occurred_at, not insertion.
        for n in reversed(range(25)):
            session.add(_event(item_id, start + timedelta(days=n), n))
        await session.commit()
    async with sessions() as session:
        pages = [
            await page_events(session, item_id=item_id, guild_id=None, page=p) for p in (1, 2, 3, 4)
        ]
    assert [e.summary_en for e in pages[0]] == [f"event {n}" for n in range(10)]
    assert [e.summary_en for e in pages[2]] == [f"event {n}" for n in range(20, 25)]
    assert pages[3] == []


async def test_guild_events_stay_in_their_guild(sessions: SessionFactory) -> None:
    item_id = await _item_id(sessions)
    at = datetime(2020, 1, 1, tzinfo=UTC)
    async with writing(sessions) as session:
        session.add(_event(item_id, at, 0))
        session.add(_event(item_id, at, 1, guild_id=111))
        session.add(_event(item_id, at, 2, guild_id=222))
        await session.commit()
    async with sessions() as session:
        seen = {
            g: [e.summary_en for e in await list_events(session, item_id=item_id, guild_id=g)]
            for g in (None, 111, 222)
        }
    assert seen == {None: ["event 0"], 111: ["event 0", "event 1"], 222: ["event 0", "event 2"]}


async def test_removed_events_are_hidden_but_kept(
    migrated: AsyncEngine, sessions: SessionFactory
) -> None:
    prepared = await prepare_database(migrated, sessions, items=TRACKER.items)
    item_id = prepared.item_ids["gsomia"]
    async with writing(sessions) as session:
        first = (await list_events(session, item_id=item_id))[0]
        first.deleted_at = datetime.now(UTC)
        first.deleted_by = 42
        first.delete_reason = "duplicate"
        session.add(first)
        await session.commit()
    # A later start must not bring the removed seed event back.
    again = await prepare_database(migrated, sessions, items=TRACKER.items)
    assert again.seeded == 0
    async with sessions() as session:
        visible = await list_events(session, item_id=item_id)
        kept = await session.get(TimelineEvent, first.id)
    assert len(visible) == SEED_COUNT["gsomia"] - 1
    assert kept is not None and kept.delete_reason == "duplicate"


async def test_read_paths_have_indexes(migrated: AsyncEngine) -> None:
    async with migrated.connect() as conn:
        indexes = await conn.run_sync(
            lambda c: {
                table: {tuple(ix["column_names"]) for ix in inspect(c).get_indexes(table)}
                for table in ("timeline_event", "custom_deadline", "reminder_delivery")
            }
        )
    assert ("item_id", "occurred_at", "id") in indexes["timeline_event"]
    assert ("due_at",) in indexes["custom_deadline"]
    assert ("state", "due_at") in indexes["reminder_delivery"]


def test_default_sqlite_path_is_created(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "dir" / "db.sqlite"
    create_engine(f"sqlite+aiosqlite:///{target}")
    assert target.parent.is_dir()


async def test_read_cache_serves_until_invalidated_or_expired(
    migrated: AsyncEngine, sessions: SessionFactory
) -> None:
    from services.readcache import ReadCache

    prepared = await prepare_database(migrated, sessions, items=TRACKER.items)
    item_id = prepared.item_ids["gsomia"]
    ticks = [0.0]
    cache = ReadCache(sessions, ttl=60, clock=lambda: ticks[0])
    first = await cache.status_inputs(item_id=item_id, guild_id=None)
    assert first.count == SEED_COUNT["gsomia"]

    async with writing(sessions) as session:
        session.add(_event(item_id, datetime(2026, 1, 1, tzinfo=UTC), 99))
        await session.commit()
    # Another writer's change is not seen until the entry expires...
    assert (await cache.status_inputs(item_id=item_id, guild_id=None)).count == first.count
    ticks[0] = 61.0
    assert (await cache.status_inputs(item_id=item_id, guild_id=None)).count == first.count + 1
    # ...while a write through this process invalidates at once.
    async with writing(sessions) as session:
        session.add(_event(item_id, datetime(2026, 2, 1, tzinfo=UTC), 100))
        await session.commit()
    cache.invalidate(item_id)
    latest = await cache.status_inputs(item_id=item_id, guild_id=None)
    assert latest.count == first.count + 2
    assert latest.latest is not None and latest.latest.summary_en == "event 100"


async def test_sqlite_writers_wait_their_turn_instead_of_failing(
    tmp_path: Path, no_write_outside_writing: list[str]
) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'turns.db'}")
    sessions = session_factory(engine)
    await upgrade(engine)
    async with writing(sessions) as session:
        await set_state(session, key="n", value="0")
        await session.commit()

    async def bump(session: AsyncSession) -> None:
        value = int(await get_state(session, key="n") or 0)
        await set_state(session, key="n", value=str(value + 1))
        await session.commit()

    async def bump_in_turn() -> None:
        async with writing(sessions) as session:
            await bump(session)

    # Why writing() exists: a transaction that began as a reader cannot write once
    # another connection has committed meanwhile, and SQLite fails it at once.
    async with sessions() as reader:
        await get_state(reader, key="n")
        await bump_in_turn()
        with pytest.raises(OperationalError, match="database is locked"):
            await bump(reader)
    # ...and the log names such a write, which the tests' guard turns into a failure.
    assert no_write_outside_writing == [
        "SQLite write outside writing(): UPDATE bot_state SET value=?, updated_at=? "
        'WHERE bot_state."key" = ?'
    ]
    no_write_outside_writing.clear()
    # Begun as writers, the second waits for the first and sees its write: nothing lost.
    async with writing(sessions) as first:
        second = asyncio.create_task(bump_in_turn())
        await bump(first)
    await second
    async with sessions() as session:
        assert await get_state(session, key="n") == "3"
    await engine.dispose()
