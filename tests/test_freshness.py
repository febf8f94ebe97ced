"""Cross-process freshness (SPEC §6): every process sees every other's writes within 2 s,
its caches included: notified on PostgreSQL (storage/notify.py), short-lived on SQLite.

The stand-in hosts one gateway session at a time (a new IDENTIFY ends the older one), so
the two bots here are two ``running_bot``s in this process, each with its own engine,
pool and (on PostgreSQL) its own LISTEN connection: to the database, two processes.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from sqlmodel import select

from config.tracker import load_tracker
from demo.harness import running_bot
from discordbot.bot import MotionwatchBot
from runtime.startup import prepare_database
from services.context import BRIEF_CACHE_SECONDS, NOTIFIED_CACHE_SECONDS
from services.guilds import GuildSettingsCache
from standin import DiscordStandIn, Guild, Perm
from storage.engine import create_engine, session_factory, writing
from storage.migrate import upgrade
from storage.models import GuildSettings
from storage.notify import Scope, listener_dsn, publish
from tests.conftest import PG_URL, ROOT, create_pg_database, drop_pg_database

KST = ZoneInfo("Asia/Seoul")
LIMIT = 2.0  # SPEC §6
T = TypeVar("T")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now


async def _until(probe: Callable[[], Awaitable[T | None]], *, timeout: float = 10.0) -> float:  # noqa: ASYNC109
    """Seconds until ``probe`` returns something truthy (polled, not slept on)."""
    started = time.perf_counter()
    while not await probe():
        if time.perf_counter() - started > timeout:
            raise TimeoutError("the condition did not hold in time")
        await asyncio.sleep(0.005)
    return time.perf_counter() - started


def _hangul(value: object) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in json.dumps(value, ensure_ascii=False))


async def _reidentify(standin: DiscordStandIn, bot: MotionwatchBot) -> None:
    """Make ``bot`` the stand-in's live session again (its gateway was taken over)."""
    count = standin.identify_count
    assert bot.ws is not None
    # Any close but 1000 makes discord.py reconnect; its RESUME is refused (the session
    # ended when the other bot identified), so it IDENTIFYs afresh.
    await bot.ws.close(code=4000)
    await standin.wait_for_identifies(count + 1, timeout=15)
    await standin.wait_until_connected(timeout=15)


async def test_two_bots_see_each_others_setup_within_2_s(
    standin: DiscordStandIn, database_url: str
) -> None:
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    guild: Guild = standin.add_guild("Korea Watchers")
    general = guild.channel_named("general")
    reminders = guild.add_channel("reminders")
    admin = guild.add_member("Seo", roles=[guild.add_role("Admins", Perm.MANAGE_GUILD)])
    old_ping = guild.add_role("Watchers", mentionable=True)
    new_ping = guild.add_role("Alerts", mentionable=True)
    standin.allow_ping_role(guild.id, old_ping)
    standin.allow_ping_role(guild.id, new_ping)
    engine = create_engine(database_url)
    prepared = await prepare_database(engine, session_factory(engine), items=tracker.items)
    async with writing(session_factory(engine)) as session:
        session.add(
            GuildSettings(
                guild_id=guild.id,
                reminders_channel_id=reminders,
                ping_role_id=old_ping,
                reminder_offsets="1d",
                language="en",
            )
        )
        await session.commit()
    await engine.dispose()
    gsomia = prepared.item_ids["gsomia"]
    # The GSOMIA notice deadline is 25 Aug 2027; its 1d reminder falls due on the 24th.
    clock = Clock(datetime(2027, 8, 20, 9, tzinfo=KST))
    postgres = database_url.startswith("postgresql")

    async def run(
        options: dict[str, str | int], *, sub: str | None = None, name: str = "setup"
    ) -> str:
        interaction = await standin.invoke(
            guild.id, general, admin, name, options=options, subcommand=sub
        )
        reply = await interaction.response()
        return json.dumps([reply.content, reply.embeds], ensure_ascii=False)

    async with running_bot(standin, database_url=database_url, tracker=tracker, clock=clock) as b:
        # The second process answers first, in English, and keeps what it read.
        assert not _hangul(await run({"item": "gsomia"}, name="status"))
        settings = b.services.guild_settings
        before = await settings.get(guild.id)
        assert before is not None and before.ping_role_id == old_ping
        count = (await b.services.reads.status_inputs(item_id=gsomia, guild_id=guild.id)).count
        if postgres:
            # Held for a minute: only the notification can make it fresh within 2 s.
            assert b.services.changes is not None and b.services.changes.listening
            assert settings.ttl == NOTIFIED_CACHE_SECONDS
        else:
            assert settings.ttl == BRIEF_CACHE_SECONDS

        async with running_bot(
            standin, database_url=database_url, tracker=tracker, clock=clock
        ) as a:
            # The first process (now the stand-in's live session) makes the changes.
            delays = {}

            async def ping_is_new() -> bool:
                row = await settings.get(guild.id)
                return row is not None and row.ping_role_id == new_ping

            async def language_is_ko() -> bool:
                row = await settings.get(guild.id)
                return row is not None and row.language == "ko"

            async def one_more_event() -> bool:
                inputs = await b.services.reads.status_inputs(item_id=gsomia, guild_id=guild.id)
                return inputs.count == count + 1

            # Each delay runs from before the command (an upper bound of the true one).
            started = time.perf_counter()
            await run({"purpose": "ping", "role": new_ping}, sub="role")
            delays["ping role"] = time.perf_counter() - started + await _until(ping_is_new)
            started = time.perf_counter()
            await run({"language": "ko"}, sub="language")
            delays["language"] = time.perf_counter() - started + await _until(language_is_ko)
            started = time.perf_counter()
            options: dict[str, str | int] = {"item": "gsomia", "summary": "Ministers met"}
            recorded = await run(options, sub="add", name="update")
            assert "#" in recorded, recorded
            delays["update"] = time.perf_counter() - started + await _until(one_more_event)
            print(f"propagation ({'PostgreSQL' if postgres else 'SQLite'}): {delays}")
            assert all(d < LIMIT for d in delays.values()), delays
            await a.after.drain()

        # The second process, live again, answers in Korean...
        await _reidentify(standin, b)
        status = await run({"item": "gsomia"}, name="status")
        assert _hangul(status), status
        # ...and its reminder pings the new role.
        clock.now = datetime(2027, 8, 24, 0, 0, 20, tzinfo=KST).astimezone(UTC)
        assert await b.reminders.sweep() == 1
    (reminder,) = standin.messages(reminders)
    assert reminder.content == f"<@&{new_ping}>"
    assert _hangul(reminder.embeds), reminder.embeds


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_sqlite_settings_cache_expires_within_its_ttl(database_url: str) -> None:
    # Two engines on one file: two processes, as far as SQLite can tell.
    one, two = create_engine(database_url), create_engine(database_url)
    try:
        await upgrade(one)
        writer, reader = session_factory(one), session_factory(two)
        async with writing(writer) as session:
            session.add(GuildSettings(guild_id=7, language="en"))
            await session.commit()
        ticks = [0.0]
        fake = GuildSettingsCache(reader, ttl=BRIEF_CACHE_SECONDS, clock=lambda: ticks[0])
        real = GuildSettingsCache(reader, ttl=BRIEF_CACHE_SECONDS)
        for cache in (fake, real):
            row = await cache.get(7)
            assert row is not None and row.language == "en"

        async with writing(writer) as session:
            row = (await session.exec(select(GuildSettings))).one()
            row.language = "ko"
            session.add(row)
            await session.commit()
        changed = time.perf_counter()
        # Served from memory until the entry is BRIEF_CACHE_SECONDS old, read again after.
        ticks[0] = BRIEF_CACHE_SECONDS - 0.01
        assert (await fake.get(7)).language == "en"  # type: ignore[union-attr]
        ticks[0] = BRIEF_CACHE_SECONDS
        assert (await fake.get(7)).language == "ko"  # type: ignore[union-attr]

        async def fresh() -> bool:
            row = await real.get(7)
            return row is not None and row.language == "ko"

        await _until(fresh)
        delay = time.perf_counter() - changed
        print(f"SQLite settings propagation: {delay:.3f} s (ttl {BRIEF_CACHE_SECONDS} s)")
        assert delay < LIMIT
    finally:
        await one.dispose()
        await two.dispose()


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL names no PostgreSQL server")
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


async def test_the_listener_reconnects_after_its_connection_is_killed_and_drops_caches(
    standin: DiscordStandIn, pg_url: str, tmp_path: Path
) -> None:
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    guild = standin.add_guild("G")
    other = create_engine(pg_url)
    writer = session_factory(other)
    try:
        async with running_bot(standin, database_url=pg_url, tracker=tracker) as bot:
            services = bot.services
            feed = services.changes
            assert feed is not None and feed.listening and feed.connects == 1
            first_pid = feed.backend_pid
            assert first_pid is not None
            assert await services.guild_settings.get(guild.id) is None
            item_id = services.item_ids["gsomia"]
            shared = await services.reads.status_inputs(item_id=item_id, guild_id=None)

            # Changes made without a word, as if their notifications were lost while the
            # listener was down: the caches (held a minute) do not see them...
            async with writing(writer) as session:
                session.add(GuildSettings(guild_id=guild.id, language="ko"))
                await session.commit()
            assert await services.guild_settings.get(guild.id) is None
            assert (await services.reads.status_inputs(item_id=item_id, guild_id=None)) is shared

            admin = await asyncpg.connect(listener_dsn(other.url))
            try:
                killed = await admin.fetchval("SELECT pg_terminate_backend($1)", first_pid)
            finally:
                await admin.close()
            assert killed
            started = time.perf_counter()

            async def back() -> bool:
                return feed.connects == 2 and feed.listening

            await _until(back)
            print(f"listener back after {time.perf_counter() - started:.3f} s")
            assert feed.backend_pid not in (None, first_pid)
            # ...and the reconnect dropped everything.
            row = await services.guild_settings.get(guild.id)
            assert row is not None and row.language == "ko"
            assert (
                await services.reads.status_inputs(item_id=item_id, guild_id=None)
            ) is not shared

            # The new connection hears the next change.
            async with writing(writer) as session:
                row = (await session.exec(select(GuildSettings))).one()
                row.language = "en"
                session.add(row)
                await publish(session, (Scope.settings(guild.id),), on_commit=lambda: None)
                await session.commit()

            async def english() -> bool:
                row = await services.guild_settings.get(guild.id)
                return row is not None and row.language == "en"

            assert await _until(english) < LIMIT
    finally:
        await other.dispose()


def test_scopes_round_trip() -> None:
    for scope in (Scope.settings(5), Scope.item(3), Scope.item(3, 2**62)):
        assert Scope.parse(scope.payload) == scope
    assert Scope.item(3, 9).payload == "item:3:9"
    for junk in ("", "settings", "item:x", "settings:1:2", "other:1"):
        assert Scope.parse(junk) is None
    assert timedelta(seconds=BRIEF_CACHE_SECONDS) < timedelta(seconds=LIMIT)
