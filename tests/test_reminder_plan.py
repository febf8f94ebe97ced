"""The reminder plan in the store (services/reminders.py, storage/queries/reminders.py):
a change re-plans only what it touches, an item's shared change re-plans every guild in
a fixed number of statements (not a loop over guilds), the periodic re-plan catches up
what a lost follow-up missed, a plan made by one process is swept by another, and one
guild's own history neither drops another's reminders nor stops its plan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import event
from sqlmodel import col, select

from config.settings import Settings
from config.shards import Shards
from config.tracker import load_tracker
from runtime.startup import prepare_database
from services.build import build_services
from services.context import Services
from services.moderation import add_deadline
from services.reminders import Reminders
from storage.engine import create_engine, session_factory, writing
from storage.models import GuildSettings, PlannedDeadline, ReminderOffset, TimelineEvent
from storage.queries.reminders import upcoming
from tests.conftest import ROOT
from tracker.reminders import Due

KST = ZoneInfo("Asia/Seoul")
NOW = datetime(2027, 7, 1, 9, tzinfo=KST).astimezone(UTC)
FIRST_GUILD = 10**17


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class Posts:
    """A sender that records what it was asked to post (the Discord edge)."""

    def __init__(self) -> None:
        self.sent: list[Due] = []

    async def __call__(self, due: Due, late: bool) -> int | None:
        self.sent.append(due)
        return len(self.sent)


@pytest.fixture
async def services(database_url: str) -> AsyncIterator[Services]:
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    engine = create_engine(database_url)
    prepared = await prepare_database(engine, session_factory(engine), items=tracker.items)
    async with httpx.AsyncClient() as http:
        yield build_services(
            Settings(_env_file=None, database_url=database_url),
            tracker,
            http=http,
            engine=engine,
            clock=Clock(NOW),
            item_ids=prepared.item_ids,
        )
    await engine.dispose()


async def _guilds(services: Services, count: int, offsets: str = "7d,1d") -> list[int]:
    ids = [FIRST_GUILD + n for n in range(count)]
    async with writing(services.sessions) as session:
        for guild_id in ids:
            session.add(
                GuildSettings(
                    guild_id=guild_id,
                    reminders_channel_id=guild_id + 1,
                    reminder_offsets=offsets,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        await session.commit()
    return ids


async def _owed(services: Services) -> list[tuple[int, str, int, datetime]]:
    """The reminders owed from now on: (guild, deadline key, offset in seconds, due)."""
    async with services.sessions() as session:
        return await upcoming(session, now=services.clock())


async def _plan_rows(services: Services, guild_id: int) -> set[tuple[object, ...]]:
    """A guild's own rows of the plan, with their ids and stamps."""
    async with services.sessions() as session:
        deadlines = await session.exec(
            select(PlannedDeadline).where(col(PlannedDeadline.scope) == guild_id)
        )
        offsets = await session.exec(
            select(ReminderOffset).where(col(ReminderOffset.guild_id) == guild_id)
        )
        return {(d.id, d.deadline_key, d.planned_at) for d in deadlines.all()} | {
            (o.offset_seconds, o.planned_at) for o in offsets.all()
        }


@contextmanager
def _statements(services: Services) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(args[2])

    target = services.engine.sync_engine
    event.listen(target, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(target, "before_cursor_execute", count)


async def _notice_given(services: Services, *, at: datetime = NOW - timedelta(hours=1)) -> None:
    """Seoul gives notice of termination: a shared stage change, as the official data
    would record it (no guild's command changes the shared history)."""
    async with writing(services.sessions) as session:
        session.add(
            TimelineEvent(
                item_id=services.item_ids["gsomia"],
                guild_id=None,
                occurred_at=at,
                precision="datetime",
                summary_en="Seoul gives written notice of termination",
                stage="termination_notified",
                recorded_at=NOW,
            )
        )
        await session.commit()


async def test_a_guilds_change_replans_that_guild_and_no_other(services: Services) -> None:
    first, second = await _guilds(services, 2)
    reminders = Reminders(services, Posts(), process="test")
    await reminders.replan()
    before = await _plan_rows(services, second)
    owed_before = {(g, k, o) for g, k, o, _ in await _owed(services)}
    await add_deadline(
        services,
        guild_id=first,
        actor_id=1,
        item=services.tracker.items[0],
        title="Hearing",
        when="2027-09-30 18:00",
        now=NOW,
    )
    await reminders.replan_guild(first)
    # The other guild's rows are the very same rows (same ids and stamps), not rewritten.
    assert await _plan_rows(services, second) == before
    added = {(g, k.split("/")[1].split(":")[0], o) for g, k, o, _ in await _owed(services)}
    added -= {(g, k.split("/")[1].split(":")[0], o) for g, k, o in owed_before}
    assert added == {(first, "custom", 7 * 86400), (first, "custom", 86400)}


async def test_a_shared_stage_change_replans_every_guild_in_the_same_statements(
    services: Services,
) -> None:
    reminders = Reminders(services, Posts(), process="test")
    guilds = await _guilds(services, 40)
    await reminders.replan()

    def gsomia(rows: list[tuple[int, str, int, datetime]]) -> dict[int, set[str]]:
        out: dict[int, set[str]] = {}
        for g, key, _, _ in rows:
            if key.startswith("gsomia/"):
                out.setdefault(g, set()).add(key)
        return out

    before = gsomia(await _owed(services))
    await _notice_given(services)
    with _statements(services) as few:
        await reminders.replan_item(services.item_ids["gsomia"])
    after = gsomia(await _owed(services))
    assert set(after) == set(guilds)  # every guild...
    assert all(keys == after[guilds[0]] for keys in after.values())
    assert after[guilds[0]] != before[guilds[0]]  # ...has the moved deadlines
    assert all(k.startswith("gsomia/termination") for k in after[guilds[0]])

    # Ten times the guilds, the same statements: nothing loops over guilds.
    more = [FIRST_GUILD + 1000 + n for n in range(400)]
    async with writing(services.sessions) as session:
        for guild_id in more:
            session.add(GuildSettings(guild_id=guild_id, reminders_channel_id=1, created_at=NOW))
        await session.commit()
    async with writing(services.sessions) as session:
        (notice,) = (
            await session.exec(
                select(TimelineEvent).where(
                    col(TimelineEvent.summary_en) == "Seoul gives written notice of termination"
                )
            )
        ).all()
        notice.deleted_at = NOW
        session.add(notice)
        await session.commit()
    await reminders.replan()  # the new guilds' offsets, once
    await _notice_given(services)
    with _statements(services) as many:
        await reminders.replan_item(services.item_ids["gsomia"])
    assert len(many) == len(few), (few, many)
    assert set(gsomia(await _owed(services))) == {*guilds, *more}


async def test_the_periodic_replan_catches_up_a_lost_followup(services: Services) -> None:
    (guild,) = await _guilds(services, 1)
    reminders = Reminders(services, Posts(), process="test")
    await reminders.replan()
    # The deadline is stored, but its process stops before the change's own re-plan.
    await add_deadline(
        services,
        guild_id=guild,
        actor_id=1,
        item=services.tracker.items[0],
        title="Hearing",
        when="2027-09-30 18:00",
        now=NOW,
    )
    assert not [k for _, k, _, _ in await _owed(services) if "custom" in k]
    await reminders.replan()
    assert sorted(o for _, k, o, _ in await _owed(services) if "custom" in k) == [
        86400,
        7 * 86400,
    ]


async def test_one_process_plans_and_another_posts(services: Services, database_url: str) -> None:
    """What is due is read from the store: a process that never planned posts it."""
    (guild,) = await _guilds(services, 1, offsets="1d")
    planner = Reminders(services, Posts(), process="planner")
    await add_deadline(
        services,
        guild_id=guild,
        actor_id=1,
        item=services.tracker.items[0],
        title="Hearing",
        when="2027-07-03 09:00",
        now=NOW,
    )
    await planner.replan_guild(guild)
    other_engine = create_engine(database_url)
    clock = Clock(datetime(2027, 7, 2, 9, 0, 30, tzinfo=KST).astimezone(UTC))
    async with httpx.AsyncClient() as http:
        other = build_services(
            services.settings,
            services.tracker,
            http=http,
            engine=other_engine,
            clock=clock,
            item_ids=services.item_ids,
        )
        posts = Posts()
        sweeper = Reminders(other, posts, process="sweeper")
        assert await sweeper.sweep() == 1
        assert await sweeper.sweep() == 0
        services.clock = clock
        assert await planner.sweep() == 0  # posted once, whichever process sweeps
    await other_engine.dispose()
    (due,) = posts.sent
    assert due.target.title == "Hearing" and due.offset == timedelta(days=1)


async def _own_stage(services: Services, guild_id: int, stage: str, at: datetime) -> None:
    """A stage change a guild's moderators recorded in its own history of GSOMIA."""
    async with writing(services.sessions) as session:
        session.add(
            TimelineEvent(
                item_id=services.item_ids["gsomia"],
                guild_id=guild_id,
                occurred_at=at,
                precision="datetime",
                summary_en=f"{stage} (this guild's record)",
                stage=stage,
                recorded_at=at,
            )
        )
        await session.commit()


async def test_a_reminder_due_while_down_is_posted_late_beside_a_guild_with_its_own_history(
    services: Services,
) -> None:
    """One guild's own stage changes must not make the restart drop another's owed reminder."""
    own, other = await _guilds(services, 2, offsets="30d")
    await _own_stage(services, own, "termination_notified", NOW - timedelta(days=1))
    reminders = Reminders(services, Posts(), process="test")
    await reminders.replan()
    # GSOMIA's notice deadline is 25 Aug 2027; the 30d reminder fell due on 26 Jul.
    services.clock = Clock(datetime(2027, 7, 28, 9, tzinfo=KST).astimezone(UTC))
    posts = Posts()
    restarted = Reminders(services, posts, process="restarted")
    await restarted.replan()
    assert await restarted.sweep() == 1
    (due,) = posts.sent
    assert due.guild_id == other and due.offset == timedelta(days=30)


async def test_a_guilds_history_that_no_longer_fits_the_shared_one_stops_no_other_guild(
    services: Services,
) -> None:
    own, other = await _guilds(services, 2)
    await _own_stage(services, own, "termination_notified", NOW - timedelta(hours=1))
    reminders = Reminders(services, Posts(), process="test")
    await reminders.replan()
    # The shared history now records the notice too, an hour earlier: the guild's own
    # record no longer follows from it.
    await _notice_given(services, at=NOW - timedelta(hours=2))
    await reminders.replan()
    await reminders.replan_guild(own)
    await reminders.replan_item(services.item_ids["gsomia"])
    keys = {k for g, k, _, _ in await _owed(services) if g == other}
    assert keys and all(k.startswith("gsomia/termination") for k in keys), keys


async def test_each_process_posts_its_shards_reminders_even_after_the_others_swept(
    services: Services,
) -> None:
    """SHARD_COUNT=2: a guild's reminders are posted by the process holding its shard; a
    process that was down still posts its shards' reminders after the other swept on."""
    # Guild ids whose shard ((id >> 22) % 2) is 0 and 1.
    even, odd = (FIRST_GUILD >> 22 << 22), (FIRST_GUILD >> 22 << 22) + (1 << 22)
    async with writing(services.sessions) as session:
        for guild_id in (even, odd):
            session.add(
                GuildSettings(
                    guild_id=guild_id,
                    reminders_channel_id=guild_id + 1,
                    reminder_offsets="30d",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        await session.commit()
    zero_posts, one_posts = Posts(), Posts()
    zero = Reminders(services, zero_posts, process="zero", shards=Shards(2, frozenset({0})))
    one = Reminders(services, one_posts, process="one", shards=Shards(2, frozenset({1})))
    await zero.replan()
    await zero.sweep()
    await one.sweep()
    # The 30d reminder of GSOMIA's notice deadline (25 Aug 2027) falls due on 26 Jul; the
    # process of shard 1 is down then, and shard 0's sweeps go on without it.
    services.clock = Clock(datetime(2027, 7, 26, 0, 0, 30, tzinfo=KST).astimezone(UTC))
    assert await zero.sweep() == 1
    services.clock = Clock(datetime(2027, 7, 28, tzinfo=KST).astimezone(UTC))
    assert await zero.sweep() == 0
    assert await one.sweep() == 1  # late, but not lost
    assert [d.guild_id for d in zero_posts.sent] == [even]
    assert [d.guild_id for d in one_posts.sent] == [odd]


class Crashing(Posts):
    """Discord's answer never comes back: the reminder stays claimed, as after a crash."""

    async def __call__(self, due: Due, late: bool) -> int | None:
        raise ConnectionResetError("killed mid-send")


async def test_a_claim_a_crash_left_is_settled_by_its_own_shards_process_only(
    services: Services,
) -> None:
    """Another shard's process may be sending that reminder right now: it is not its own
    to settle, so only the process holding the guild's shard posts it."""
    even, odd = (FIRST_GUILD >> 22 << 22), (FIRST_GUILD >> 22 << 22) + (1 << 22)
    async with writing(services.sessions) as session:
        for guild_id in (even, odd):
            session.add(
                GuildSettings(
                    guild_id=guild_id,
                    reminders_channel_id=guild_id + 1,
                    reminder_offsets="30d",
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
        await session.commit()
    unsharded = Reminders(services, Crashing(), process="old")
    await unsharded.replan()
    services.clock = Clock(datetime(2027, 7, 26, 0, 0, 30, tzinfo=KST).astimezone(UTC))
    assert await unsharded.sweep() == 0  # both claimed, neither recorded
    zero_posts, one_posts = Posts(), Posts()
    zero = Reminders(services, zero_posts, process="zero", shards=Shards(2, frozenset({0})))
    one = Reminders(services, one_posts, process="one", shards=Shards(2, frozenset({1})))
    assert await zero.finish_unfinished() == 1
    assert [d.guild_id for d in zero_posts.sent] == [even]
    assert await one.finish_unfinished() == 1
    assert [d.guild_id for d in one_posts.sent] == [odd]
    assert await zero.finish_unfinished() == 0
