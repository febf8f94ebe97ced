"""SHARD_COUNT: each process posts the news of its own shards' guilds, whoever polled."""

from __future__ import annotations

from datetime import UTC, datetime

from config.shards import Shards
from storage.engine import create_engine, session_factory, writing
from storage.migrate import upgrade
from storage.models import NewsEntry, NewsPost, NewsSource
from storage.queries.news import unsent_posts

EVEN = 10**17 >> 22 << 22  # (id >> 22) % 2 == 0
ODD = EVEN + (1 << 22)  # (id >> 22) % 2 == 1


async def test_each_process_sends_the_posts_of_its_own_shards(database_url: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade(engine)
        sessions = session_factory(engine)
        now = datetime(2027, 1, 1, tzinfo=UTC)
        async with writing(sessions) as session:
            source = NewsSource(url="https://wire.example/feed", name="Wire")
            session.add(source)
            await session.flush()
            assert source.id is not None
            entry = NewsEntry(
                source_id=source.id,
                entry_key="w1",
                url="https://wire.example/1",
                canonical_url="https://wire.example/1",
                title="GSOMIA",
                title_key="gsomia",
                first_seen_at=now,
            )
            session.add(entry)
            await session.flush()
            assert entry.id is not None
            for guild_id in (EVEN, ODD):
                session.add(
                    NewsPost(guild_id=guild_id, entry_id=entry.id, channel_id=1, created_at=now)
                )
            await session.commit()
        async with sessions() as session:
            zero = await unsent_posts(
                session, include_sending=False, shards=Shards(2, frozenset({0}))
            )
            one = await unsent_posts(
                session, include_sending=False, shards=Shards(2, frozenset({1}))
            )
            every = await unsent_posts(session, include_sending=False)
        assert [p.guild_id for p in zero] == [EVEN]
        assert [p.guild_id for p in one] == [ODD]
        assert sorted(p.guild_id for p in every) == [EVEN, ODD]
    finally:
        await engine.dispose()
