"""Reminders (SPEC §5) with an injected clock: at each offset, once, late or dropped after
downtime, across restarts, two bots on one database, and a process killed mid-send."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from config.tracker import TrackerConfig, load_tracker
from demo.harness import running_bot
from discordbot.bot import MotionwatchBot
from motionwatch_standin import DiscordStandIn, Guild, MessageRecord, Perm
from runtime.startup import prepare_database
from storage.engine import create_engine, session_factory, writing
from storage.models import CustomDeadline, GuildSettings, ReminderDelivery
from tests.conftest import ROOT
from tests.test_cli import standin_env
from tests.test_freshness import BotProcess

KST = ZoneInfo("Asia/Seoul")
NOTICE = datetime(2027, 8, 25, tzinfo=KST)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment.astimezone(UTC)


@dataclass
class Place:
    standin: DiscordStandIn
    guild: Guild
    general: int
    reminders: int
    admin: int
    ping: int
    tracker: TrackerConfig
    database_url: str

    def posted(self) -> list[MessageRecord]:
        return self.standin.messages(self.reminders)


@pytest.fixture
async def place(standin: DiscordStandIn, database_url: str) -> Place:
    guild = standin.add_guild("Korea Watchers")
    reminders = guild.add_channel("reminders")
    admin_role = guild.add_role("Admins", Perm.MANAGE_GUILD)
    ping = guild.add_role("Watchers", mentionable=True)
    standin.allow_ping_role(guild.id, ping)
    return Place(
        standin,
        guild,
        guild.channel_named("general"),
        reminders,
        guild.add_member("Seo", roles=[admin_role]),
        ping,
        load_tracker(ROOT / "config" / "tracker.toml"),
        database_url,
    )


async def _configure(place: Place, offsets: str) -> None:
    steps: list[tuple[str, str, dict[str, str | int]]] = [
        ("setup", "channel", {"purpose": "reminders", "channel": place.reminders}),
        ("setup", "role", {"purpose": "ping", "role": place.ping}),
        ("setup", "reminders", {"offsets": offsets}),
    ]
    for name, sub, options in steps:
        interaction = await place.standin.invoke(
            place.guild.id, place.general, place.admin, name, options=options, subcommand=sub
        )
        await interaction.response()


def _custom_reminders() -> SelectOfScalar[ReminderDelivery]:
    # The computed deadlines (GSOMIA's) are planned too, further ahead.
    return select(ReminderDelivery).where(col(ReminderDelivery.title).is_not(None))


async def _earlier_run(
    standin: DiscordStandIn, database_url: str, tracker: TrackerConfig, *, at: datetime
) -> None:
    """A run of the bot at ``at`` that planned the reminders then ahead, and stopped."""
    async with running_bot(standin, database_url=database_url, tracker=tracker, clock=Clock(at)):
        pass


async def _at(bot: MotionwatchBot, clock: Clock, moment: datetime) -> int:
    # What the commands before left to do after their reply (the re-plan) is done first.
    await bot.after.drain()
    clock.set(moment)
    return await bot.reminders.sweep()


async def test_the_notice_deadline_is_reminded_at_each_offset_once(place: Place) -> None:
    clock = Clock(datetime(2027, 7, 1, 9, tzinfo=KST))
    async with running_bot(
        place.standin, database_url=place.database_url, tracker=place.tracker, clock=clock
    ) as bot:
        await _configure(place, "30d,7d,1d")
        assert await _at(bot, clock, datetime(2027, 7, 25, 23, 59, tzinfo=KST)) == 0
        for offset, due in [
            ("30d", datetime(2027, 7, 26, tzinfo=KST)),
            ("7d", datetime(2027, 8, 18, tzinfo=KST)),
            ("1d", datetime(2027, 8, 24, tzinfo=KST)),
        ]:
            assert await _at(bot, clock, due + timedelta(seconds=20)) == 1
            message = place.posted()[-1]
            assert message.embeds[0]["title"] == (
                f"Notice deadline in {offset}: South Korea–Japan GSOMIA"
            )
            description = message.embeds[0]["description"]
            assert f"<t:{int(NOTICE.timestamp())}:F>" in description
            assert "If neither party gives written notice by then" in description
            assert "renews on 23 Nov 2027" in description
            assert "Late" not in description
            assert message.content == f"<@&{place.ping}>"
            assert message.allowed_mentions == {"parse": [], "roles": [place.ping]} or (
                message.allowed_mentions is not None
                and message.allowed_mentions.get("roles") in ([place.ping], [str(place.ping)])
                and not message.allowed_mentions.get("parse")
            )
            # The same sweep again, a minute later: nothing twice.
            assert await _at(bot, clock, due + timedelta(minutes=1)) == 0
    assert len(place.posted()) == 3


async def test_a_motion_is_reminded_before_its_window_opens_and_closes(place: Place) -> None:
    reported = datetime(2027, 3, 2, 14, tzinfo=KST)
    clock = Clock(reported + timedelta(minutes=30))
    async with running_bot(
        place.standin, database_url=place.database_url, tracker=place.tracker, clock=clock
    ) as bot:
        await _configure(place, "1h,10m")
        for stage, when in [("submitted", "2027-03-01 10:00"), ("reported", "2027-03-02 14:00")]:
            interaction = await place.standin.invoke(
                place.guild.id,
                place.general,
                place.admin,
                "update",
                subcommand="add",
                options={
                    "item": "han-minkoo-dismissal",
                    "summary": f"Motion {stage}",
                    "stage": stage,
                    "when": when,
                },
            )
            reply = await interaction.response()
            assert reply.content and reply.content.startswith("Recorded"), reply.content
        titles = []
        for due in [
            reported + timedelta(hours=23),
            reported + timedelta(hours=23, minutes=50),
            reported + timedelta(hours=71),
            reported + timedelta(hours=71, minutes=50),
        ]:
            assert await _at(bot, clock, due + timedelta(seconds=5)) == 1
            titles.append(place.posted()[-1].embeds[0]["title"])
    name = "Motion to dismiss Defence Minister Han Min-koo"
    assert titles == [
        f"Vote window opens in 1h: {name}",
        f"Vote window opens in 10m: {name}",
        f"Vote window closes in 1h: {name}",
        f"Vote window closes in 10m: {name}",
    ]


async def test_restart_between_two_due_times(place: Place) -> None:
    clock = Clock(datetime(2027, 7, 1, 9, tzinfo=KST))
    async with running_bot(
        place.standin, database_url=place.database_url, tracker=place.tracker, clock=clock
    ) as bot:
        await _configure(place, "30d,7d")
        assert await _at(bot, clock, datetime(2027, 7, 26, 0, 0, 10, tzinfo=KST)) == 1
    clock.set(datetime(2027, 8, 18, 0, 0, 10, tzinfo=KST))
    async with running_bot(
        place.standin, database_url=place.database_url, tracker=place.tracker, clock=clock
    ) as bot:
        # The start-up sweep posted the 7d reminder, and the 30d one was not posted again.
        assert bot.reminders.posted == 1
        assert await bot.reminders.sweep() == 0
    titles = [m.embeds[0]["title"] for m in place.posted()]
    assert titles == [
        "Notice deadline in 30d: South Korea–Japan GSOMIA",
        "Notice deadline in 7d: South Korea–Japan GSOMIA",
    ]


async def test_down_across_a_due_time_posts_late_and_across_the_deadline_drops(
    place: Place,
) -> None:
    clock = Clock(datetime(2027, 8, 20, 9, tzinfo=KST))
    async with running_bot(
        place.standin, database_url=place.database_url, tracker=place.tracker, clock=clock
    ):
        await _configure(place, "1d,1h")
    # Down from 20 Aug until 24 Aug 03:00: the 1d reminder (due 24 Aug 00:00) is owed, late.
    clock.set(datetime(2027, 8, 24, 3, tzinfo=KST))
    async with running_bot(
        place.standin, database_url=place.database_url, tracker=place.tracker, clock=clock
    ) as bot:
        assert bot.reminders.posted == 1
    late = place.posted()[-1]
    assert late.embeds[0]["title"] == "Notice deadline in 1d: South Korea–Japan GSOMIA"
    assert "Late: the bot was offline" in late.embeds[0]["description"]
    # Down again across the deadline itself: the 1h reminder is dropped, not posted.
    clock.set(datetime(2027, 8, 26, 9, tzinfo=KST))
    async with running_bot(
        place.standin, database_url=place.database_url, tracker=place.tracker, clock=clock
    ) as bot:
        assert bot.reminders.posted == 0
        async with bot.services.sessions() as session:
            rows = (await session.exec(select(ReminderDelivery))).all()
        # /about tells the server what became of its reminders.
        about = await place.standin.invoke(place.guild.id, place.general, place.admin, "about")
        (field,) = [
            f for f in (await about.response()).embeds[0]["fields"] if f["name"].startswith("Rem")
        ]
        assert field["value"].startswith("1 posted · not posted: 1 whose deadline passed")
    assert len(place.posted()) == 1
    # The passed deadline's 1h reminder is not posted, and the store says why.
    notice = sorted((r.offset_seconds, r.state, r.reason) for r in rows if r.deadline_at == NOTICE)
    assert notice == [(3600, "dropped", "deadline passed"), (86400, "sent", None)]


async def test_a_deadline_learned_late_owes_only_the_reminders_still_ahead(place: Place) -> None:
    clock = Clock(datetime(2027, 8, 20, 9, tzinfo=KST))
    async with running_bot(
        place.standin, database_url=place.database_url, tracker=place.tracker, clock=clock
    ) as bot:
        await _configure(place, "30d,7d,1d")
        # 30d and 7d were due before the guild set reminders up; only 1d is owed.
        assert await _at(bot, clock, datetime(2027, 8, 24, 0, 0, 5, tzinfo=KST)) == 1
    assert [m.embeds[0]["title"].split(":")[0] for m in place.posted()] == ["Notice deadline in 1d"]


async def test_two_bots_on_one_database_post_each_reminder_once(
    standin: DiscordStandIn, database_url: str
) -> None:
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    guilds = [standin.add_guild(f"G{n}") for n in range(4)]
    channels = {g.id: g.add_channel("reminders") for g in guilds}
    engine = create_engine(database_url)
    await prepare_database(engine, session_factory(engine), items=tracker.items)
    async with writing(session_factory(engine)) as session:
        for g in guilds:
            session.add(
                GuildSettings(
                    guild_id=g.id, reminders_channel_id=channels[g.id], reminder_offsets="30d,7d,1d"
                )
            )
        await session.commit()
    await engine.dispose()
    clock = Clock(datetime(2027, 7, 1, tzinfo=KST))
    async with (
        running_bot(standin, database_url=database_url, tracker=tracker, clock=clock) as one,
        running_bot(standin, database_url=database_url, tracker=tracker, clock=clock) as two,
    ):
        for due in [
            datetime(2027, 7, 26, tzinfo=KST),
            datetime(2027, 8, 18, tzinfo=KST),
            datetime(2027, 8, 24, tzinfo=KST),
        ]:
            clock.set(due + timedelta(seconds=30))
            counts = await asyncio.gather(one.reminders.sweep(), two.reminders.sweep())
            assert sum(counts) == len(guilds)
    for g in guilds:
        assert len(standin.messages(channels[g.id])) == 3


@pytest.mark.parametrize("nonce_window", [300.0, 1.0], ids=["inside", "after"])
async def test_a_process_killed_between_claim_and_record_posts_once(
    standin: DiscordStandIn, database_url: str, nonce_window: float
) -> None:
    """SIGKILL after Discord created the reminder and before the bot recorded it; the
    restart comes inside Discord's nonce window, or after it (when a resend with the same
    nonce would post again): either way exactly one message, found and recorded."""
    standin.set_nonce_window(nonce_window)
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    guild = standin.add_guild("G")
    channel = guild.add_channel("reminders")
    now = datetime.now(UTC).replace(microsecond=0)
    deadline_at = now + timedelta(hours=23, minutes=30)  # its 1d reminder fell due 30 min ago
    engine = create_engine(database_url)
    prepared = await prepare_database(engine, session_factory(engine), items=tracker.items)
    async with writing(session_factory(engine)) as session:
        session.add(
            GuildSettings(guild_id=guild.id, reminders_channel_id=channel, reminder_offsets="1d")
        )
        session.add(
            CustomDeadline(
                guild_id=guild.id,
                item_id=prepared.item_ids["gsomia"],
                title="Ministers meet",
                due_at=deadline_at,
                created_at=now - timedelta(days=2),
            )
        )
        await session.commit()
    # An earlier run planned its reminders two days ago, when the 1d one was still ahead.
    await _earlier_run(standin, database_url, tracker, at=now - timedelta(days=2))

    env = standin_env(standin, database_url)

    async def start() -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "bot.py"),
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )

    standin.hold_posts(channel)  # Discord creates the message, the answer never arrives
    first = await start()
    try:
        await standin.wait_for_message(channel, timeout=30)
        async with session_factory(engine)() as session:
            (row,) = (await session.exec(_custom_reminders())).all()
        assert row.state == "claimed"
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
        standin.release_posts(channel)
        killed = time.monotonic()
    if nonce_window < 60:
        # Down for longer than Discord remembers the nonce.
        await asyncio.sleep(max(0.0, nonce_window + 0.1 - (time.monotonic() - killed)))
    second = await start()
    try:

        async def recorded() -> ReminderDelivery:
            while True:
                async with session_factory(engine)() as session:
                    (row,) = (await session.exec(_custom_reminders())).all()
                if row.state == "sent":
                    return row
                # The database is another process's to write; poll it briefly.
                await asyncio.sleep(0.1)

        row = await asyncio.wait_for(recorded(), timeout=30)
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), timeout=30)
        await engine.dispose()
    messages = standin.messages(channel)
    assert len(messages) == 1
    assert row.message_id == messages[0].id
    assert "Ministers meet" in messages[0].embeds[0]["title"]


async def test_two_bot_processes_on_one_database_post_each_reminder_once(
    standin: DiscordStandIn, database_url: str
) -> None:
    # Several guilds with a reminder already due when both processes start: both start-up
    # sweeps race for the same claims.
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    guilds = [standin.add_guild(f"G{n}") for n in range(6)]
    channels = {g.id: g.add_channel("reminders") for g in guilds}
    now = datetime.now(UTC).replace(microsecond=0)
    engine = create_engine(database_url)
    prepared = await prepare_database(engine, session_factory(engine), items=tracker.items)
    async with writing(session_factory(engine)) as session:
        for g in guilds:
            session.add(
                GuildSettings(
                    guild_id=g.id, reminders_channel_id=channels[g.id], reminder_offsets="1d,1h"
                )
            )
            session.add(
                CustomDeadline(
                    guild_id=g.id,
                    item_id=prepared.item_ids["gsomia"],
                    title=f"Deadline of {g.name}",
                    due_at=now + timedelta(minutes=59),  # its 1d and 1h reminders are due
                    created_at=now - timedelta(days=2),
                )
            )
        await session.commit()
    await _earlier_run(standin, database_url, tracker, at=now - timedelta(days=2))
    env = standin_env(standin, database_url)
    identified = standin.identify_count  # the earlier run's
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable,
            str(ROOT / "bot.py"),
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        for _ in range(2)
    ]
    try:

        async def all_recorded() -> list[ReminderDelivery]:
            while True:
                async with session_factory(engine)() as session:
                    rows = (await session.exec(_custom_reminders())).all()
                if len(rows) == 2 * len(guilds) and all(r.state == "sent" for r in rows):
                    return list(rows)
                # The database is the other processes' to write; poll it briefly.
                await asyncio.sleep(0.1)

        rows = await asyncio.wait_for(all_recorded(), timeout=60)

        # Stop them only once both run: a signal before a process installs its handler
        # would kill it instead of stopping it cleanly.
        await standin.wait_for_identifies(identified + 2, timeout=60)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            _, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
            assert process.returncode == 0, stderr.decode()
        await engine.dispose()
    for g in guilds:
        titles = sorted(m.embeds[0]["title"] for m in standin.messages(channels[g.id]))
        assert titles == [
            f"Deadline of {g.name} in 1d: South Korea–Japan GSOMIA",
            f"Deadline of {g.name} in 1h: South Korea–Japan GSOMIA",
        ]
    assert len({r.message_id for r in rows}) == len(rows)


async def test_a_deadline_added_through_one_of_two_processes_is_reminded_once(
    standin: DiscordStandIn, database_url: str, tmp_path: Path
) -> None:
    """Two processes without shards: a custom deadline added through the first, in each of
    four guilds, is reminded once in each, whichever process sweeps first, and not again
    when both start over (each start sweeps)."""
    guilds = [standin.add_guild(f"G{n}") for n in range(4)]
    channels = {g.id: g.add_channel("reminders") for g in guilds}
    admins = {
        g.id: g.add_member("Seo", roles=[g.add_role("Admins", Perm.MANAGE_GUILD)]) for g in guilds
    }
    engine = create_engine(database_url)
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    await prepare_database(engine, session_factory(engine), items=tracker.items)
    async with writing(session_factory(engine)) as session:
        for g in guilds:
            session.add(
                GuildSettings(
                    guild_id=g.id, reminders_channel_id=channels[g.id], reminder_offsets="1m"
                )
            )
        await session.commit()
    env = standin_env(standin, database_url, LOG_LEVEL="INFO")
    a, b = BotProcess("A", env, tmp_path / "a.log"), BotProcess("B", env, tmp_path / "b.log")
    try:
        await b.start()
        second = await standin.wait_until_connected(timeout=60)
        await a.start()
        first = await standin.wait_until_connected(timeout=60, session=second + 1)
        # A few seconds more than the offset ahead: the reminder falls due soon after.
        when = (datetime.now(UTC) + timedelta(minutes=1, seconds=8)).isoformat(timespec="seconds")
        for g in guilds:
            interaction = await standin.invoke(
                g.id,
                g.channel_named("general"),
                admins[g.id],
                "deadline",
                options={"item": "gsomia", "title": f"Vote in {g.name}", "when": when},
                subcommand="add",
                via=first,
            )
            await interaction.response(timeout=10)
        for g in guilds:
            # Sweeps run every 20 s in each process.
            await standin.wait_for_message(channels[g.id], timeout=60)
        identified = standin.identify_count
        for bot in (a, b):
            assert await bot.stop() == 0, bot.tail()
            await bot.start()
        # Each start sweeps before it connects: both have swept again once both are back.
        await standin.wait_for_identifies(identified + 2, timeout=60)
    except BaseException:
        print(a.tail(), b.tail(), sep="\n")
        raise
    finally:
        for bot in (a, b):
            if bot.process is not None:
                await bot.stop(timeout=10)
    async with session_factory(engine)() as session:
        rows = (await session.exec(_custom_reminders())).all()
    await engine.dispose()
    for g in guilds:
        (message,) = standin.messages(channels[g.id])
        assert message.embeds[0]["title"].startswith(f"Vote in {g.name} in 1m"), message.embeds
    assert len(rows) == len(guilds) and {r.state for r in rows} == {"sent"}
    for bot in (a, b):
        assert "Traceback" not in bot.text(), bot.tail()


async def test_a_stop_during_start_up_cuts_it_short_cleanly(
    standin: DiscordStandIn, database_url: str, tmp_path: Path
) -> None:
    """SIGTERM while the start-up catch-up is still posting: the process stops at once,
    with status 0, without going on to start its jobs; the reminder is posted by the next
    start, once."""
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    guild = standin.add_guild("G")
    channel = guild.add_channel("reminders")
    now = datetime.now(UTC).replace(microsecond=0)
    engine = create_engine(database_url)
    prepared = await prepare_database(engine, session_factory(engine), items=tracker.items)
    async with writing(session_factory(engine)) as session:
        session.add(
            GuildSettings(guild_id=guild.id, reminders_channel_id=channel, reminder_offsets="1d")
        )
        session.add(
            CustomDeadline(
                guild_id=guild.id,
                item_id=prepared.item_ids["gsomia"],
                title="Ministers meet",
                due_at=now + timedelta(hours=23, minutes=30),
                created_at=now - timedelta(days=2),
            )
        )
        await session.commit()
    await engine.dispose()
    await _earlier_run(standin, database_url, tracker, at=now - timedelta(days=2))
    env = standin_env(standin, database_url, LOG_LEVEL="INFO")
    bot = BotProcess("starting", env, tmp_path / "bot.log")
    standin.hold_posts(channel)  # the start-up sweep waits for Discord's answer
    await bot.start()
    try:
        await standin.wait_for_message(channel, timeout=30)
        assert await bot.stop(timeout=10) == 0, bot.tail()
    finally:
        standin.release_posts(channel)
    assert "stopping on signal" in bot.text(), bot.tail()
    assert "ready to connect" not in bot.text(), bot.tail()
    assert "Traceback" not in bot.text(), bot.tail()
    again = BotProcess("again", env, tmp_path / "again.log")
    await again.start()
    try:
        await standin.wait_until_connected(timeout=60)
    finally:
        assert await again.stop() == 0, again.tail()
    assert len(standin.messages(channel)) == 1
