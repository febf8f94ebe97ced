"""The web pages' speed and memory: p50/p99 of /items/gsomia and / over HTTP, and peak RSS.

A store with the configured items, their seed histories and --events more shared events
each (bench/bigstore.py's fill), and --guilds guilds' settings. In this process, the web
app (web.app.make_app) serves on loopback and one client asks for each page --runs times
in turn, after a warm-up, timing from sending the request to reading the whole body. The
pages are served as they are in production: reads go through the services' cache, which
SQLite entries leave after 1 s, so some requests read the store and most do not.

Then a real ``python bot.py --web`` over the same store answers --requests requests (the
two pages, in English and Korean, the chart as SVG and PNG, a guild's calendar feed and
/healthz) and its peak resident memory (VmHWM in /proc/<pid>/status) is read before it is
stopped with SIGTERM; then the same for the worker, ``python bot.py`` with WEB_PORT,
logged in to the Discord stand-in in this process with --standin-guilds guilds.

Run: python bench/web_pages.py [--runs N] [--events N] [--requests N] [--standin-guilds N]
     [--database-url URL]
(--database-url: an empty database to fill; default: a temporary SQLite file)
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp
import httpx
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.bigstore import fill
from bench.interaction_latency import percentile
from config.settings import Settings
from config.tracker import load_tracker
from motionwatch_standin import DiscordStandIn
from services import calendar as calendars
from services.build import build_services
from storage.engine import create_engine, session_factory
from storage.models import TimelineEvent
from storage.queries.items import item_ids
from web.app import make_app
from web.serve import start_web

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("/items/gsomia", "/")
MIX = (
    "/items/gsomia",
    "/items/gsomia?lang=ko",
    "/",
    "/?lang=ko",
    "/healthz",
    "/items/gsomia/chart.svg",
    "/items/gsomia/chart.png?lang=ko",
    "/items/han-minkoo-dismissal/chart.svg?lang=ko",
)
# The guild whose calendar feed is in the mix: bench/bigstore.py's first guild.
CALENDAR_GUILD = 10**17


async def add_news_events(engine: AsyncEngine, ids: dict[str, int], events: int) -> None:
    """Stage-less shared events after the seeds (fill's own stages would contradict them)."""
    start, now = datetime(2024, 1, 1, tzinfo=UTC), datetime.now(UTC)
    rows = [
        {
            "item_id": item_id,
            "guild_id": None,
            "occurred_at": start + timedelta(hours=k * 7),
            "precision": "datetime",
            "summary_en": f'Event {k} of {key}: <news> & "quotes" ' + "x" * 120,
            "summary_ko": f"{key}의 사건 {k}: " + "가" * 60,
            "stage": None,
            "source_name": "Bench Wire",
            "source_url": f"https://example.org/{key}/{k}",
            "recorded_at": now,
            "revision": 1,
        }
        for key, item_id in ids.items()
        for k in range(events)
    ]
    if rows:  # an INSERT with no rows would insert one of defaults
        async with engine.execution_options(sqlite_immediate=True).begin() as conn:
            await conn.execute(insert(TimelineEvent), rows)


def _ms(values: list[float], q: float) -> float:
    return percentile(values, q) * 1000


async def _fetch(http: aiohttp.ClientSession, path: str) -> float:
    started = time.perf_counter()
    async with http.get(path) as response:
        body = await response.read()
    elapsed = time.perf_counter() - started
    assert response.status == 200 and body, (path, response.status)
    return elapsed


async def render_times(url: str, runs: int) -> tuple[dict[str, list[float]], dict[str, int], str]:
    """Each page's times and sizes, and the path of CALENDAR_GUILD's calendar feed."""
    settings = Settings(_env_file=None, database_url=url)
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    times: dict[str, list[float]] = {path: [] for path in PAGES}
    sizes: dict[str, int] = {}
    async with httpx.AsyncClient() as client:
        services = build_services(settings, tracker, http=client)
        try:
            async with services.sessions() as session:
                services.item_ids.update(await item_ids(session))
            secret = await calendars.ensure_secret(services, guild_id=CALENDAR_GUILD, actor_id=1)
            calendar = calendars.calendar_path(secret)
            server = await start_web(make_app(services), host="127.0.0.1", port=0)
            try:
                async with aiohttp.ClientSession(base_url=server.url) as http:
                    for path in PAGES:
                        async with http.get(path) as response:
                            sizes[path] = len(await response.read())
                        for _ in range(min(20, runs)):  # warm-up: templates, pools, caches
                            await _fetch(http, path)
                    for _ in range(runs):
                        for path in PAGES:  # in turn, so drift weighs on both alike
                            times[path].append(await _fetch(http, path))
            finally:
                await server.stop()
        finally:
            await services.engine.dispose()
    return times, sizes, calendar


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _memory(pid: int) -> dict[str, int]:
    """VmHWM and VmRSS in KiB."""
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in {"VmHWM", "VmRSS"}:
            out[name] = int(value.split()[0])
    return out


async def peak_rss(
    url: str, requests: int, mix: tuple[str, ...], standin: DiscordStandIn | None = None
) -> tuple[dict[str, int], dict[str, int], int, float]:
    """Memory once serving, memory after ``requests`` requests, exit code, seconds to serve.

    With ``standin``, the worker (``python bot.py``, logged in to it) with WEB_PORT set;
    without, ``python bot.py --web``.
    """
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in {"PORT", "DISCORD_TOKEN"}}
    env.update(DATABASE_URL=url, WEB_PORT=str(port), LOG_LEVEL="WARNING")
    args = ["--web"]
    if standin is not None:
        args = []
        env.update(
            DISCORD_TOKEN=standin.bot_token,
            DISCORD_API_BASE=standin.api_base,
            DISCORD_GATEWAY_URL=standin.gateway_url,
        )
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(ROOT / "bot.py"), *args, cwd=ROOT, env=env
    )
    try:
        async with aiohttp.ClientSession(base_url=f"http://127.0.0.1:{port}") as http:
            while True:
                if process.returncode is not None:
                    raise RuntimeError(f"bot.py {' '.join(args)} stopped with {process.returncode}")
                try:
                    await _fetch(http, "/healthz")
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.05)  # the port is not open yet
            if standin is not None:
                await standin.wait_until_connected(timeout=120)
            ready = time.perf_counter() - started
            serving = _memory(process.pid)
            for n in range(requests):
                await _fetch(http, mix[n % len(mix)])
            after = _memory(process.pid)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(process.wait(), 60)
    return serving, after, code, ready


def _report(
    what: str, requests: int, measured: tuple[dict[str, int], dict[str, int], int, float]
) -> None:
    serving, after, code, ready = measured
    print(
        f"{what}: serving {ready:.1f} s after start; "
        f"VmRSS {serving['VmRSS'] / 1024:.1f} MiB once serving; "
        f"after {requests} requests VmHWM (peak) "
        f"{after['VmHWM'] / 1024:.1f} MiB, VmRSS {after['VmRSS'] / 1024:.1f} MiB; "
        f"exit {code} on SIGTERM"
    )


async def main(
    runs: int,
    events: int,
    guilds: int,
    requests: int,
    standin_guilds: int,
    database_url: str | None,
) -> int:
    logging.basicConfig(level=logging.WARNING)
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        engine = create_engine(url)
        started = time.perf_counter()
        ids = await fill(engine, session_factory(engine), tracker, events_per_item=0, guilds=guilds)
        await add_news_events(engine, ids, events)
        await engine.dispose()
        backend = url.split(":")[0]
        print(
            f"store: {len(tracker.items)} items, their seeds + {events} shared events each, "
            f"{guilds} guilds' settings ({backend}; "
            f"filled in {time.perf_counter() - started:.1f} s)"
        )
        times, sizes, calendar = await render_times(url, runs)
        print(f"{runs} runs per page over HTTP on loopback, after 20 warm-up runs")
        for path in PAGES:
            values = times[path]
            print(
                f"  {path:<15} p50 {_ms(values, 0.5):7.2f} ms   p99 {_ms(values, 0.99):7.2f} ms   "
                f"mean {statistics.mean(values) * 1000:7.2f} ms   {sizes[path] / 1024:7.1f} KiB"
            )
        mix = (*MIX, calendar)
        print(f"request mix for memory: {', '.join(mix[:-1])} and a calendar feed")
        alone = await peak_rss(url, requests, mix)
        _report("python bot.py --web", requests, alone)
        async with DiscordStandIn() as standin:
            for g in range(standin_guilds):
                standin.add_guild(f"Bench guild {g}")
            worker = await peak_rss(url, requests, mix, standin)
        _report(f"python bot.py with WEB_PORT ({standin_guilds} guilds)", requests, worker)
    return 0 if alone[2] == 0 and worker[2] == 0 else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200, help="timed requests per page")
    parser.add_argument("--events", type=int, default=200, help="shared events added per item")
    parser.add_argument("--guilds", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=1000, help="requests to bot.py --web")
    parser.add_argument("--standin-guilds", type=int, default=100, help="the worker's guilds")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    sys.exit(
        asyncio.run(
            main(
                args.runs,
                args.events,
                args.guilds,
                args.requests,
                args.standin_guilds,
                args.database_url,
            )
        )
    )
