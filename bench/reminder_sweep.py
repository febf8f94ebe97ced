"""Reminder planning and sweeping at scale: 10,000 guilds x 20 deadlines x 4 offsets.

Prints the time to plan them all (the first plan after start, and a re-plan),
the time of one sweep that finds and claims what is due, and the steady cost
per minute (three sweeps a minute and a re-plan every five). Reminders are
"sent" by a stub that returns a message id: this measures the bot's own work,
not Discord's.
Run: python bench/reminder_sweep.py [--guilds N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import insert

from config.settings import Settings
from config.tracker import load_tracker
from runtime.startup import prepare_database
from services.context import Services
from services.reminders import Reminders
from storage.engine import create_engine, session_factory
from storage.models import CustomDeadline, GuildSettings
from tracker.reminders import Due

ROOT = Path(__file__).resolve().parents[1]
DEADLINES, OFFSETS = 20, "30d,7d,1d,1h"


async def main(guilds: int, database_url: str | None) -> int:
    logging.basicConfig(level=logging.WARNING)
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    start = datetime(2027, 1, 1, tzinfo=UTC)
    clock_now = [start]
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'reminders.db'}"
        engine = create_engine(url)
        sessions = session_factory(engine)
        prepared = await prepare_database(engine, sessions, items=tracker.items)
        item = prepared.item_ids["gsomia"]
        base = 10**17
        # Begun as a writer, as every write on SQLite is (storage.engine.writing).
        async with engine.execution_options(sqlite_immediate=True).begin() as conn:
            await conn.execute(
                insert(GuildSettings),
                [
                    {
                        "guild_id": base + g,
                        "reminders_channel_id": base + 10**6 + g,
                        "reminder_offsets": OFFSETS,
                        "created_at": start,
                        "updated_at": start,
                    }
                    for g in range(guilds)
                ],
            )
            rows = [
                {
                    "guild_id": base + g,
                    "item_id": item,
                    "title": f"Deadline {d}",
                    "due_at": start + timedelta(days=45, seconds=rng.randrange(365 * 86400)),
                    "created_at": start,
                }
                for g in range(guilds)
                for d in range(DEADLINES)
            ]
            for i in range(0, len(rows), 10_000):
                await conn.execute(insert(CustomDeadline), rows[i : i + 10_000])

        sent = 0

        async def send(due: Due, late: bool) -> int:
            nonlocal sent
            sent += 1
            return sent

        async with httpx.AsyncClient() as http:
            services = Services(
                settings=Settings(_env_file=None, database_url=url),
                tracker=tracker,
                engine=engine,
                sessions=sessions,
                http=http,
                scheduler=AsyncIOScheduler(timezone=UTC),
                clock=lambda: clock_now[0],
            )
            services.item_ids.update(prepared.item_ids)
            reminders = Reminders(services, send, process="bench")
            t0 = time.perf_counter()
            plan = await reminders.replan()
            first_plan = time.perf_counter() - t0
            t0 = time.perf_counter()
            await reminders.replan()
            replan = time.perf_counter() - t0
            await reminders.sweep()  # the first sweep only marks the start

            # One sweep that finds what fell due in the last minute, claims and "sends" it.
            first_due = plan.next_due(start)
            assert first_due is not None
            clock_now[0] = first_due + timedelta(minutes=1)
            due_now = len(plan.between(first_due - timedelta(seconds=1), clock_now[0]))
            t0 = time.perf_counter()
            posted = await reminders.sweep()
            sweep = time.perf_counter() - t0

            # A quiet sweep (nothing due), as most are.
            clock_now[0] += timedelta(seconds=20)
            t0 = time.perf_counter()
            await reminders.sweep()
            quiet = time.perf_counter() - t0
        await engine.dispose()

    total = guilds * DEADLINES * 4
    print(
        f"{guilds} guilds x {DEADLINES} deadlines x 4 offsets = {total} reminders "
        f"({url.split(':')[0]})"
    )
    print(f"plan, first:                                   {first_plan:6.2f} s   (target <= 5 s)")
    print(f"plan, again:                                   {replan:6.2f} s")
    print(
        f"one sweep finding {due_now} due and posting {posted}:           "
        f"{sweep * 1000:6.1f} ms   (target <= 200 ms)"
    )
    print(f"one quiet sweep:                               {quiet * 1000:6.1f} ms")
    per_minute = 3 * quiet + replan / 5
    print(f"steady cost per minute (3 sweeps + 1/5 re-plan): {per_minute:6.2f} s of work")
    print(f"reminders in the plan: {len(plan)}")
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--guilds", type=int, default=10_000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.guilds, args.database_url)))
