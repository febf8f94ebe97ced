"""What follows a committed change (discordbot/after.py): after the reply, in one place.

The moderator's reply never waits for the re-plan or the announcement; re-plans that
overlap never leave the older plan in place; a story added from the news is recorded
with its entry and announced like any update, and a dismissal is audited.
"""

# ruff: noqa: F811  (the feeds and room fixtures are imported, then named as arguments)
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import col, select

import services.reminders as services_reminders
import storage.queries.events
from demo.harness import running_bot
from discordbot.bot import MotionwatchBot
from services.moderation import add_update
from storage.models import AuditLog, NewsEntry, TimelineEvent
from storage.queries.reminders import upcoming
from tests.test_news_e2e import Feed, Newsroom, feeds, room  # noqa: F401
from tests.test_reminders import KST, Clock, Place, _configure, place  # noqa: F401

DEADLINE = "2027-09-30 18:00"


async def _owed(bot: MotionwatchBot) -> list[tuple[str, int]]:
    """The reminders owed from now on: (deadline key, offset in seconds)."""
    async with bot.services.sessions() as session:
        ahead = await upcoming(session, now=bot.services.clock())
    return sorted((key, offset) for _, key, offset, _ in ahead)


async def _done_or_waiting_for_a_lock(bot: MotionwatchBot, task: asyncio.Task[None]) -> bool:
    if task.done():
        return True
    async with bot.services.sessions() as session:
        conn = await session.connection()
        waiting = await conn.execute(
            text("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        )
        return bool(waiting.scalar_one())


async def _until(probe: Callable[[], Awaitable[bool]], *, timeout: float = 10.0) -> None:  # noqa: ASYNC109
    """Until ``probe`` holds (polled: the condition lives in another connection)."""
    started = time.perf_counter()
    while not await probe():
        if time.perf_counter() - started > timeout:
            raise TimeoutError("the condition did not hold in time")
        await asyncio.sleep(0.01)


async def test_the_reply_comes_before_the_replan(place: Place) -> None:
    clock = Clock(datetime(2027, 7, 1, 9, tzinfo=KST))
    async with running_bot(
        place.standin, database_url=place.database_url, tracker=place.tracker, clock=clock
    ) as bot:
        await _configure(place, "1d")
        await bot.after.drain()
        planned = await _owed(bot)
        # A re-plan held up as long as the test likes: it may not hold up the reply.
        release = asyncio.Event()
        real_replan = bot.reminders.replan_guild

        async def slow_replan(guild_id: int) -> None:
            await release.wait()
            await real_replan(guild_id)

        bot.reminders.replan_guild = slow_replan  # type: ignore[method-assign]
        interaction = await place.standin.invoke(
            place.guild.id,
            place.general,
            place.admin,
            "deadline",
            options={"item": "gsomia", "title": "Hearing", "when": DEADLINE},
            subcommand="add",
        )
        reply = await interaction.response(timeout=5)
        assert reply.content is not None and reply.content.startswith("Custom deadline #")
        assert await _owed(bot) == planned  # answered, and not planned yet
        release.set()
        await bot.after.drain()
        (new,) = set(await _owed(bot)) - set(planned)
        assert new[0].startswith("gsomia/custom:") and new[1] == 86400


async def test_two_replans_racing_never_leave_the_older_plan(
    place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The older re-plan has read the guild's stage changes when a new one is recorded and a
    second re-plan starts; the older one then finishes. The newer plan must be the one left."""
    reported = datetime(2027, 3, 2, 14, tzinfo=KST)
    clock = Clock(reported + timedelta(minutes=30))
    motion = next(i for i in place.tracker.items if i.key == "han-minkoo-dismissal")
    async with running_bot(
        place.standin, database_url=place.database_url, tracker=place.tracker, clock=clock
    ) as bot:
        await _configure(place, "1h")
        services = bot.services

        async def record(stage: str, when: str) -> None:
            await add_update(
                services,
                guild_id=place.guild.id,
                actor_id=place.admin,
                item=motion,
                summary=f"Motion {stage}",
                stage=stage,
                when=when,
                source_url=None,
                source_name=None,
                now=clock(),
            )

        await record("submitted", "2027-03-01 10:00")
        await bot.reminders.replan_guild(place.guild.id)
        before = [key for key, _ in await _owed(bot) if key.startswith(motion.key)]
        read, finish = asyncio.Event(), asyncio.Event()
        real_read = storage.queries.events.stage_events
        reads = 0

        async def slow_first_read(*args: Any, **kwargs: Any) -> Any:
            nonlocal reads
            reads += 1
            events = await real_read(*args, **kwargs)
            if reads == 1:
                read.set()
                await finish.wait()
            return events

        monkeypatch.setattr(services_reminders, "stage_events", slow_first_read)
        older = asyncio.create_task(bot.reminders.replan_guild(place.guild.id))
        await asyncio.wait_for(read.wait(), 10)

        # On SQLite the change waits for the older re-plan's write lock; on PostgreSQL it
        # commits at once, and the newer re-plan waits for the older's lock on the guild.
        async def change_then_replan() -> None:
            await record("reported", "2027-03-02 14:00")
            await bot.reminders.replan_guild(place.guild.id)

        newer = asyncio.create_task(change_then_replan())
        if bot.services.engine.dialect.name == "postgresql":
            # The change commits at once; the newer re-plan either waits for the older's
            # lock on the guild or, were there none, would run to its end first.
            await _until(lambda: _done_or_waiting_for_a_lock(bot, newer))
        # On SQLite the older re-plan holds the one write lock: nothing else writes yet.
        finish.set()
        await asyncio.wait_for(asyncio.gather(older, newer), 20)
        after = sorted({key for key, _ in await _owed(bot) if key.startswith(motion.key)})
    assert before == []  # a submitted motion has no vote window yet
    assert after == [f"{motion.key}/window-closes", f"{motion.key}/window-opens"]


async def test_a_story_added_from_the_news_is_announced_and_linked_to_its_entry(
    room: Newsroom, feeds: Any
) -> None:
    base, served = feeds
    updates = room.guild.add_channel("updates")
    await room.ask(room.moderator, "setup", "channel", purpose="updates", channel=updates)
    served["wire"] = Feed("Wire")
    await room.add_source(f"{base}/wire.xml", "Wire")
    served["wire"].items.append(("w1", "GSOMIA review begins", "https://wire.example/1"))
    served["wire"].items.append(("w2", "GSOMIA: an opinion piece", "https://wire.example/2"))
    await room.poll()
    first, second = room.standin.messages(room.news)

    added = await room.standin.click(room.guild.id, room.news, room.moderator, first, "news:add:1")
    assert (await added.response()).type == 7
    announcement = await room.standin.wait_for_message(updates, timeout=5)
    assert "GSOMIA review begins" in str(announcement.embeds[0])
    dropped = await room.standin.click(
        room.guild.id, room.news, room.moderator, second, "news:drop:2"
    )
    assert (await dropped.response()).type == 7
    await room.bot.after.drain()

    async with room.bot.services.sessions() as session:
        entry = (
            await session.exec(
                select(NewsEntry).where(col(NewsEntry.url) == "https://wire.example/1")
            )
        ).one()
        event = (
            await session.exec(
                select(TimelineEvent).where(col(TimelineEvent.source_name) == "Wire")
            )
        ).one()
        audit = (
            await session.exec(select(AuditLog).where(col(AuditLog.action) == "news.dismiss"))
        ).one()
    assert event.news_entry_id == entry.id
    assert audit.actor_id == room.moderator and audit.target_id == "2"
    assert audit.after is not None and audit.after["url"] == "https://wire.example/2"
    assert len(room.standin.messages(updates)) == 1  # the dismissal announces nothing
