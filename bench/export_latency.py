"""/export format:ics and the calendar feed with 10,000 guilds in the store.

Every guild has settings, a calendar secret and the entries its feed gave (the real
tracker's computed deadlines); one guild also has 20 custom deadlines. Prints p50 and
p99 of building that guild's /export format:ics file at the service level (reconcile
with the stored entries, then the iCalendar bytes) and of GET /calendar/<secret>.ics
over HTTP on loopback (aiohttp server, httpx client), and of a request right after a
deadline moved (a write). Run: python bench/export_latency.py [--runs N] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
from aiohttp import web
from sqlalchemy import insert, update
from sqlmodel import col

from bench.bigstore import fill
from config.settings import Settings
from config.tracker import load_tracker
from exporting.ics import build_calendar
from services import calendar
from services.build import build_services
from services.context import Services
from services.exports import deadlines_export
from services.reading import upcoming_deadlines
from storage.engine import create_engine, session_factory, writing
from storage.models import CalendarEntry, CalendarSecret, CustomDeadline
from web.calendar import add_calendar_routes

ROOT = Path(__file__).resolve().parents[1]
GUILDS = 10_000
FIRST_GUILD = 10**17  # bench/bigstore.py's guild ids
CUSTOM = 20


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def report(label: str, values: list[float]) -> None:
    p50, p99 = percentile(values, 0.5) * 1000, percentile(values, 0.99) * 1000
    mean = statistics.mean(values) * 1000
    print(f"{label:<30} p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   mean {mean:7.2f} ms")


async def timed(runs: int, once: Callable[[], Awaitable[object]]) -> list[float]:
    for _ in range(min(20, runs)):  # warm-up: caches, pools, first-use imports
        await once()
    out = []
    for _ in range(runs):
        start = time.perf_counter()
        await once()
        out.append(time.perf_counter() - start)
    return out


async def populate(services: Services, now: datetime) -> tuple[int, str]:
    """Every guild's secret and feed entries; one guild's custom deadlines. Returns that guild."""
    target = FIRST_GUILD + GUILDS // 2
    rows = await upcoming_deadlines(services, guild_id=None, item=None, now=now)
    async with writing(services.sessions) as session:
        conn = await session.connection()
        await conn.execute(
            insert(CalendarSecret),
            [
                {"guild_id": FIRST_GUILD + g, "secret": f"{g:032d}", "created_at": now}
                for g in range(GUILDS)
            ],
        )
        entries = [
            {
                "guild_id": FIRST_GUILD + g,
                "uid": f"{FIRST_GUILD + g}-{r.spec.key}-{r.deadline.key}@bench",
                "item_id": services.item_ids[r.spec.key],
                "deadline_key": r.deadline.key,
                "kind": r.deadline.kind,
                "starts_at": r.deadline.at,
                "effect_at": r.deadline.effect_at,
                "sequence": 0,
                "updated_at": now,
            }
            for g in range(GUILDS)
            for r in rows
        ]
        for start in range(0, len(entries), 5000):
            await conn.execute(insert(CalendarEntry), entries[start : start + 5000])
        await conn.execute(
            insert(CustomDeadline),
            [
                {
                    "guild_id": target,
                    "item_id": services.item_ids["gsomia"],
                    "title": f"Hearing {n}",
                    "due_at": now + timedelta(days=3 + n),
                    "created_at": now,
                }
                for n in range(CUSTOM)
            ],
        )
        await session.commit()
    return target, await calendar.rotate_secret(services, guild_id=target, actor_id=1)


async def main(runs: int, database_url: str | None) -> int:
    logging.basicConfig(level=logging.WARNING)
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    now = datetime(2026, 12, 3, tzinfo=UTC)
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        engine = create_engine(url)
        sessions = session_factory(engine)
        item_ids = await fill(engine, sessions, tracker, events_per_item=0, guilds=GUILDS)
        async with httpx.AsyncClient() as http:
            services = build_services(
                Settings(_env_file=None, database_url=url, public_url="https://mw.example.org"),
                tracker,
                http=http,
                engine=engine,
                clock=lambda: now,
                item_ids=item_ids,
            )
            target, secret = await populate(services, now)

            async def export_file() -> bytes:
                entries = await deadlines_export(services, guild_id=target, item=None, now=now)
                return build_calendar(entries, language="en")

            app = web.Application()
            add_calendar_routes(app, services=services)
            runner = web.AppRunner(app)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            feed_url = f"http://127.0.0.1:{port}/calendar/{secret}.ics"

            async def fetch() -> None:
                response = await http.get(feed_url)
                assert response.status_code == 200, response.status_code

            moves = iter(range(10**6))

            async def moved_then_fetch() -> None:
                # One custom deadline moves before each request: the feed writes its new version.
                async with writing(services.sessions) as session:
                    await session.exec(
                        update(CustomDeadline)
                        .where(col(CustomDeadline.guild_id) == target)
                        .where(col(CustomDeadline.title) == "Hearing 0")
                        .values(due_at=now + timedelta(days=3, minutes=next(moves)))
                    )
                    await session.commit()
                await fetch()

            try:
                size = len(await export_file())
                print(
                    f"{GUILDS} guilds with secrets and feed entries; the guild measured has "
                    f"{CUSTOM} custom deadlines; {size} bytes of iCalendar; {runs} runs each "
                    f"after 20 warm-up runs; {engine.dialect.name}"
                )
                report("/export ics (service)", await timed(runs, export_file))
                report("GET /calendar/<secret>.ics", await timed(runs, fetch))
                report("GET after a deadline moved", await timed(runs, moved_then_fetch))
            finally:
                await runner.cleanup()
        await engine.dispose()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    sys.exit(asyncio.run(main(args.runs, args.database_url)))
