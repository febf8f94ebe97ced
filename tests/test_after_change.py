"""What follows a committed change (discordbot/after.py): after the reply, in one place.

The moderator's reply never waits for the re-plan or the announcement; re-plans that
overlap never leave the older plan in place; a story added from the news is recorded
with its entry and announced like any update, and a dismissal is audited.
"""

# ruff: noqa: F811  (the feeds and room fixtures are imported, then named as arguments)
from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from typing import Any

import pytest
from sqlmodel import col, select

import services.reminders
from demo.harness import running_bot
from services.moderation import add_deadline
from storage.models import AuditLog, NewsEntry, TimelineEvent
from tests.test_news_e2e import Feed, Newsroom, feeds, room  # noqa: F401
from tests.test_reminders import KST, Clock, Place, _configure, place  # noqa: F401
from tracker.reminders import ReminderPlan

DEADLINE = "2027-09-30 18:00"


async def test_the_reply_comes_before_the_replan(place: Place) -> None:
    clock = Clock(datetime(2027, 7, 1, 9, tzinfo=KST))
    async with running_bot(
        place.standin, database_url=place.database_url, tracker=place.tracker, clock=clock
    ) as bot:
        await _configure(place, "1d")
        await bot.after.drain()
        planned = len(bot.reminders.plan)
        # A re-plan as slow as one at 10,000 guilds: it may not hold up the reply.
        release = asyncio.Event()
        real_replan = bot.reminders.replan

        async def slow_replan() -> Any:
            await release.wait()
            return await real_replan()

        bot.reminders.replan = slow_replan  # type: ignore[method-assign]
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
        assert len(bot.reminders.plan) == planned  # answered, and not planned yet
        release.set()
        await bot.after.drain()
        assert len(bot.reminders.plan) == planned + 1


async def test_two_replans_racing_never_leave_the_older_plan(
    place: Place, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(datetime(2027, 7, 1, 9, tzinfo=KST))
    async with running_bot(
        place.standin, database_url=place.database_url, tracker=place.tracker, clock=clock
    ) as bot:
        await _configure(place, "1d")
        await bot.after.drain()
        planned = len(bot.reminders.plan)
        # The first re-plan has read the store and is building its plan when a change
        # lands and a second re-plan runs to the end; then the first one finishes.
        building, finish = threading.Event(), threading.Event()
        calls = 0

        def slow_first_plan(*args: Any) -> ReminderPlan:
            nonlocal calls
            calls += 1
            if calls == 1:
                building.set()
                finish.wait(timeout=10)
            return ReminderPlan(*args)

        monkeypatch.setattr(services.reminders, "ReminderPlan", slow_first_plan)
        older = asyncio.create_task(bot.reminders.replan())
        await asyncio.to_thread(building.wait, 10)
        await add_deadline(
            bot.services,
            guild_id=place.guild.id,
            actor_id=place.admin,
            item=place.tracker.items[0],
            title="Hearing",
            when=DEADLINE,
            now=clock(),
        )
        await bot.reminders.replan()
        assert len(bot.reminders.plan) == planned + 1
        finish.set()
        await older
        assert len(bot.reminders.plan) == planned + 1  # the newer plan stays


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
