"""Fan-out under Discord's global rate limit: 2,000 guilds with one reminder due at once.

The real bot runs against the stand-in with rate limits on (per-route buckets, and the
global limit of 50 requests per second answered with 429 and ``retry_after``). Every
guild has a reminders channel and one custom deadline whose 1h reminder falls due at
the same instant; one sweep posts them. Printed: how many were delivered and whether any
twice, the 429s the stand-in answered, and the total time as a ratio to the physical
limit (2,000 / 50 = 40 s). Target: ratio at most 1.15 (issue 12).

Run: python bench/fanout.py [--guilds N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from config.tracker import load_tracker
from demo.harness import running_bot
from motionwatch_standin import DiscordStandIn
from runtime.startup import prepare_database
from storage.engine import create_engine, session_factory
from storage.models import CustomDeadline, GuildSettings

ROOT = Path(__file__).resolve().parents[1]
GLOBAL_LIMIT = 50  # requests per second, as Discord enforces
TARGET = 1.15


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def main(guilds: int, database_url: str | None) -> int:
    logging.basicConfig(level=logging.WARNING)
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'fanout.db'}"
        engine = create_engine(url)
        prepared = await prepare_database(engine, session_factory(engine), items=tracker.items)
        start = datetime.now(UTC).replace(microsecond=0)
        due_at = start + timedelta(days=2)
        async with DiscordStandIn() as standin:
            places = [
                standin.add_guild(f"G{n}", channels=("general", "reminders")) for n in range(guilds)
            ]
            channels = {g.id: g.channel_named("reminders") for g in places}
            async with engine.begin() as conn:
                await conn.execute(
                    insert(GuildSettings),
                    [
                        {
                            "guild_id": g,
                            "reminders_channel_id": c,
                            "reminder_offsets": "1h",
                            "created_at": start,
                            "updated_at": start,
                        }
                        for g, c in channels.items()
                    ],
                )
                await conn.execute(
                    insert(CustomDeadline),
                    [
                        {
                            "guild_id": g,
                            "item_id": prepared.item_ids["gsomia"],
                            "title": "Hearing",
                            "due_at": due_at + timedelta(hours=1),
                            "created_at": start,
                        }
                        for g in channels
                    ],
                )
            await engine.dispose()
            clock = Clock(start)
            async with running_bot(
                standin, database_url=url, tracker=tracker, clock=clock, ready_timeout=120
            ) as bot:
                standin.set_rate_limits(True)
                clock.now = due_at + timedelta(seconds=5)
                started = time.perf_counter()
                posted = await bot.reminders.sweep()
                took = time.perf_counter() - started
                stats = standin.rate_limit_stats
            counts = [len(standin.messages(c)) for c in channels.values()]
    physical = guilds / GLOBAL_LIMIT
    ratio = took / physical
    twice = sum(1 for n in counts if n > 1)
    missing = sum(1 for n in counts if n == 0)
    print(f"{guilds} guilds, one reminder each due at one instant ({url.split(':')[0]})")
    print(f"posted {posted}; channels with none: {missing}; with more than one: {twice}")
    print(
        f"stand-in: {stats.requests} requests, {stats.limited} answered 429 "
        f"({stats.global_limited} global)"
    )
    verdict = "ok" if ratio <= TARGET else "FAIL"
    print(
        f"total {took:6.2f} s; physical limit {physical:.0f} s ({guilds} / {GLOBAL_LIMIT} per s); "
        f"ratio {ratio:.3f} (target <= {TARGET}: {verdict})"
    )
    return 0 if missing == 0 and twice == 0 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guilds", type=int, default=2000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.guilds, args.database_url)))
