"""Exactly once under chaos (issue 12): three real ``python bot.py`` processes, one shard
each, on one PostgreSQL database, killed with SIGKILL and started again at random, at
least 100 times in all, while reminders and news fall due in 30 guilds.

The stand-in forgets a message nonce after one second here, so a process killed after
Discord took a post and before it recorded it can only avoid a double by finding its own
post in the channel (the key in the footer), which is what this exercises. At the end the
stand-in's channels hold every reminder and every news post exactly once.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from config.tracker import load_tracker
from demo.harness import running_bot
from motionwatch_standin import DiscordStandIn, Guild, MessageRecord
from runtime.startup import prepare_database
from storage.engine import create_engine, session_factory, writing
from storage.models import CustomDeadline, GuildSettings, NewsPost, NewsSource, ReminderDelivery
from tests.conftest import PG_URL, ROOT, create_pg_database, drop_pg_database
from tests.test_cli import standin_env
from tests.test_news_crash import _tracker_with_feed
from tests.test_news_e2e import Feed, feeds  # noqa: F401  (the loopback feed server fixture)

SHARDS = 3
GUILDS = 30
KILLS = 100
# Each process lives this long (seconds, at random) before it is killed; some lives end
# before the process is even connected, others after it has posted for a while.
LIFE = (0.5, 6.0)
# Reminders are due every few seconds through the run; the deadline is OFFSET later, so
# none can pass during the chaos and every reminder stays owed.
OFFSET = timedelta(minutes=10)
DUE_AFTER = [timedelta(seconds=s) for s in (8, 25, 45, 65, 85)]
# Stories appear in the feed through the run: each is posted in every guild. Fewer than
# a poll's per-guild cap (5), so no story ever goes into a digest.
STORIES = [
    "Seoul and Tokyo agree to keep GSOMIA in place for another year",
    "Opposition files motion to dismiss Defence Minister Han Min-koo",
    "Japan welcomes South Korea's decision on intelligence-sharing pact",
    "Assembly speaker schedules vote on Han Min-koo dismissal motion",
]
STORY_EVERY = 15.0
# After the last kill every process runs undisturbed; the last reminders are then posted
# by the next sweep (every 20 s) at the latest.
SETTLE = 90.0


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL names no PostgreSQL server")
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


@dataclass
class Slot:
    """One shard's process: started again each time it is killed."""

    shard: int
    env: dict[str, str]
    log: Path
    process: asyncio.subprocess.Process | None = None
    starts: int = 0
    kills: int = 0
    lives: list[float] = field(default_factory=list)

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                str(ROOT / "bot.py"),
                cwd=ROOT,
                env=self.env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
        self.starts += 1

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()
        self.kills += 1

    async def stop(self) -> int | None:
        process = self.process
        if process is None or process.returncode is not None:
            return None if process is None else process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 30)
        except TimeoutError:
            process.kill()
            await process.wait()
        return process.returncode

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""


def _footer(message: MessageRecord) -> str:
    return str(message.embeds[0]["footer"]["text"]) if message.embeds else ""


async def _until(probe: Callable[[], Awaitable[Any]], what: str, timeout: float) -> Any:  # noqa: ASYNC109
    started = time.monotonic()
    while not (found := await probe()):
        if time.monotonic() - started > timeout:
            raise AssertionError(f"gave up waiting for {what}")
        # The database is the bot processes' to write; look again shortly.
        await asyncio.sleep(0.25)
    return found


async def test_three_sharded_processes_killed_100_times_post_everything_once(
    standin: DiscordStandIn,
    pg_url: str,
    feeds: Any,  # noqa: F811
    tmp_path: Path,
) -> None:
    rng = random.Random(12)
    standin.set_nonce_window(1.0)
    base, served = feeds
    served["wire"] = Feed("Wire", [("w0", "GSOMIA: a story already in the feed", f"{base}/0")])
    tracker_path = _tracker_with_feed(tmp_path, f"{base}/wire.xml")
    tracker = load_tracker(tracker_path)
    guilds: list[Guild] = [
        standin.add_guild(f"G{n}", shard=(n % SHARDS, SHARDS)) for n in range(GUILDS)
    ]
    reminders = {g.id: g.add_channel("reminders") for g in guilds}
    news = {g.id: g.add_channel("news") for g in guilds}

    now = datetime.now(UTC).replace(microsecond=0)
    engine = create_engine(pg_url)
    sessions = session_factory(engine)
    prepared = await prepare_database(engine, sessions, items=tracker.items)
    async with writing(sessions) as session:
        for g in guilds:
            session.add(
                GuildSettings(
                    guild_id=g.id,
                    reminders_channel_id=reminders[g.id],
                    news_channel_id=news[g.id],
                    reminder_offsets="10m",
                    language="en",
                )
            )
            for n, after in enumerate(DUE_AFTER):
                session.add(
                    CustomDeadline(
                        guild_id=g.id,
                        item_id=prepared.item_ids["gsomia"],
                        title=f"{g.name} deadline {n}",
                        due_at=now + after + OFFSET,
                        created_at=now - timedelta(days=1),
                    )
                )
        await session.commit()
    # An earlier run planned the reminders while all of them were still ahead.
    earlier = now - timedelta(hours=1)
    async with running_bot(standin, database_url=pg_url, tracker=tracker, clock=lambda: earlier):
        pass

    slots = [
        Slot(
            shard,
            standin_env(
                standin,
                pg_url,
                TRACKER_CONFIG=str(tracker_path),
                NEWS_POLL_SECONDS="2",
                ALLOW_PRIVATE_SOURCES="1",
                SHARD_COUNT=str(SHARDS),
                SHARD_IDS=str(shard),
                LOG_LEVEL="INFO",
            ),
            tmp_path / f"shard{shard}.log",
        )
        for shard in range(SHARDS)
    ]

    async def initialized() -> bool:
        async with sessions() as session:
            source = (await session.exec(select(NewsSource))).first()
        return source is not None and source.initialized_at is not None

    kills = 0
    chaos_started = time.monotonic()

    async def chaos(slot: Slot) -> None:
        nonlocal kills
        while kills < KILLS:
            life = rng.uniform(*LIFE)
            slot.lives.append(life)
            await asyncio.sleep(life)  # the process's life: what is measured is the chaos
            if kills >= KILLS:
                return
            kills += 1
            await slot.kill()
            await slot.start()

    async def publish() -> None:
        for n, title in enumerate(STORIES, start=1):
            await asyncio.sleep(STORY_EVERY)  # stories appear through the run, on purpose
            served["wire"].items.append((f"w{n}", title, f"{base}/{n}"))

    try:
        for slot in slots:
            await slot.start()
        # The feed's first poll records what is there and posts nothing: the stories
        # counted below are those that appear after it.
        await _until(initialized, "the feed's first poll", 60)
        chaos_started = time.monotonic()
        await asyncio.wait_for(
            asyncio.gather(publish(), *(chaos(slot) for slot in slots)), timeout=400
        )
        chaos_seconds = time.monotonic() - chaos_started
        # Every process is left running; everything owed is posted.
        expected_reminders = GUILDS * len(DUE_AFTER)
        expected_news = GUILDS * len(STORIES)

        def posted(channels: dict[int, int]) -> int:
            return sum(len(standin.messages(c)) for c in channels.values())

        async def all_there() -> bool:
            return (
                posted(reminders) >= expected_reminders
                and posted(news) >= expected_news
                and time.time() > (now + DUE_AFTER[-1]).timestamp()
            )

        await _until(all_there, "every reminder and news post", SETTLE + DUE_AFTER[-1].seconds)

        async def all_recorded() -> bool:
            async with sessions() as session:
                states = Counter(
                    (await session.exec(select(ReminderDelivery.state))).all()
                ) + Counter((await session.exec(select(NewsPost.state))).all())
            return set(states) <= {"sent", "posted"}

        await _until(all_recorded, "every delivery recorded", 60)
    except BaseException:
        for slot in slots:
            print(f"--- shard {slot.shard} ---\n" + "\n".join(slot.text().splitlines()[-30:]))
        raise
    finally:
        for slot in slots:
            await slot.stop()
    async with sessions() as session:
        deliveries = (await session.exec(select(ReminderDelivery))).all()
        posts = (
            await session.exec(select(NewsPost).where(col(NewsPost.state) != "digested"))
        ).all()
    await engine.dispose()

    reconciled = sum(s.text().count("was posted before the crash") for s in slots)
    print(
        f"chaos: {kills} kills in {chaos_seconds:.0f} s, starts per shard "
        f"{[s.starts for s in slots]}; {len(deliveries)} reminders and {len(posts)} news "
        f"posts; {reconciled} found in their channel after a crash instead of sent again"
    )
    assert kills >= KILLS
    for g in guilds:
        sent = standin.messages(reminders[g.id])
        footers = Counter(_footer(m) for m in sent)
        assert footers.most_common(1)[0][1] == 1, f"{g.name}: a reminder twice: {footers}"
        titles = sorted(m.embeds[0]["title"].split(" in ")[0] for m in sent)
        assert titles == [f"{g.name} deadline {n}" for n in range(len(DUE_AFTER))]
        stories = standin.messages(news[g.id])
        assert Counter(_footer(m) for m in stories).most_common(1)[0][1] == 1
        assert sorted(m.embeds[0]["title"] for m in stories) == sorted(STORIES), g.name
    assert len(deliveries) == GUILDS * len(DUE_AFTER)
    assert {d.state for d in deliveries} == {"sent"}
    assert len({d.message_id for d in deliveries}) == len(deliveries)
    assert len(posts) == GUILDS * len(STORIES)
    assert {p.state for p in posts} == {"posted"}
    for slot in slots:
        assert "Traceback" not in slot.text(), slot.text()[-3000:]
