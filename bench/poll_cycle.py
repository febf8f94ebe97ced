"""News polling at scale: 500 sources x 50 entries served from loopback.

Prints the time of the first cycle (every source new: all entries recorded, nothing
posted), of a cycle in which every feed gained two entries (some about tracked items,
posted to every following guild), and of an all-304 cycle (every feed unchanged); the
process's peak RSS; and, as the baseline, the same 500 fetches made bare (same HTTP
client, same concurrency, no parsing, no database) in the same process, with the ratios.
The feeds are served by a separate process, so the peak RSS is the poller's. Posts and
edits go to stubs that return a message id: this measures the bot's own work, not
Discord's. A PostgreSQL database named by --database-url is created for the run and
dropped after it; it must not exist before.
Run: python bench/poll_cycle.py [--sources N] [--entries N] [--guilds N] [--database-url URL]
     [--log]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import random
import resource
import socket
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from multiprocessing.connection import Connection
from pathlib import Path
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import asyncpg
import httpx
from aiohttp import web
from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel, col, select

from config.settings import Settings
from config.tracker import load_tracker
from news.http import feed_client
from runtime.startup import prepare_database
from services.build import build_services
from services.context import Services
from services.news import CONCURRENCY, FEED_PARSER, Delivery, NewsPoller, Outgoing, Sent
from storage.engine import create_engine, session_factory, writing
from storage.models import GuildSettings, NewsEntry, NewsPost, NewsSource
from storage.queries import news as store

ROOT = Path(__file__).resolve().parents[1]
POLL_SECONDS = 900
# Targets from the issue.
FIRST_TARGET, QUIET_TARGET, RSS_TARGET = 10.0, 3.0, 250.0
# Every feed gains this many entries before the second cycle; each feed keeps its last N.
NEW_PER_FEED = 2
# One feed in STORY_EVERY gets a story about a tracked item in the second cycle, and the
# feeds STORY_EVERY apart share it, as two outlets carry one story.
STORY_EVERY = 25

# --- the feeds -------------------------------------------------------------------------

PLACES = ["Seoul", "Busan", "Incheon", "Daegu", "Gwangju", "Tokyo", "Osaka", "Sejong"]
SUBJECTS = [
    "City council", "Central bank", "Weather agency", "Transport ministry", "Exporters",
    "Chipmakers", "Shipbuilders", "Football club", "Film festival", "Hospital union",
    "Police", "Education office", "Tourism board", "Port authority", "Startups",
]  # fmt: skip
VERBS = [
    "unveils", "delays", "expands", "reviews", "approves", "questions", "celebrates",
    "cuts", "doubles", "plans", "rejects", "launches",
]  # fmt: skip
OBJECTS = [
    "budget for next year", "new subway line", "typhoon preparations", "rate decision",
    "export outlook", "housing supply plan", "season opener", "jobs programme",
    "festival lineup", "safety rules", "tuition support", "green energy goals",
]  # fmt: skip
SENTENCES = [
    "Officials said the decision followed months of consultation with local residents.",
    "The announcement came as markets opened higher on the back of strong export data.",
    "Critics argued that the plan lacked detail on how it would be funded.",
    "A spokesperson declined to comment on the timeline beyond the coming quarter.",
    "The measure is expected to affect tens of thousands of households across the region.",
    "Analysts noted that similar efforts in the past had produced mixed results.",
    "Further details are due to be released at a briefing later this week.",
    "Residents interviewed on Tuesday gave the news a cautious welcome.",
]
# Background mentions in the first cycle's feeds: matched keywords, as real feeds carry.
MENTIONS = [
    "as GSOMIA talks continue",
    "amid questions for Defence Minister Han Min-koo",
    "after the intelligence-sharing pact review",
]
# The second cycle's stories about tracked items; distinct enough not to merge.
STORIES = [
    "Seoul and Tokyo agree to keep GSOMIA in place for another year",
    "Opposition files motion to dismiss Defence Minister Han Min-koo",
    "Japan welcomes South Korea's decision on intelligence-sharing pact",
    "Han Min-koo says dismissal motion is politically motivated",
    "US urges allies to preserve GSOMIA as North Korea tests missiles",
    "Assembly speaker schedules vote on Han Min-koo dismissal motion",
    "Analysts weigh cost of ending military intelligence-sharing pact",
    "Ruling party vows to block motion to dismiss defence chief Han Min-koo",
    "Trade row clouds future of GSOMIA ahead of notice deadline",
    "Defence ministry briefs lawmakers on GSOMIA renewal timeline",
]


def outlet(n: int) -> str:
    return f"Outlet {n:03d}"


@dataclass
class Feed:
    """One outlet's feed: its entries newest first, rendered once per change."""

    n: int
    items: list[str] = field(default_factory=list)
    added: int = 0
    version: int = 0
    body: bytes = b""
    etag: str = ""

    def item(self, title: str, when: datetime, rng: random.Random) -> str:
        self.added += 1
        k = self.added
        words: list[str] = []
        while sum(len(w) + 1 for w in words) < 300:
            words.append(rng.choice(SENTENCES))
        description = " ".join(words)[:300]
        return (
            f"<item><title>{escape(title)}</title>"
            f"<link>https://outlet{self.n:03d}.example/news/{k}</link>"
            f'<guid isPermaLink="false">outlet{self.n:03d}-{k}</guid>'
            f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
            f"<description>{escape(description)}</description></item>"
        )

    def render(self, keep: int) -> None:
        del self.items[keep:]
        self.version += 1
        self.etag = f'"o{self.n:03d}-v{self.version}"'
        self.body = (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
            f"<title>{outlet(self.n)}</title><link>https://outlet{self.n:03d}.example/</link>"
            f"<description>News from {outlet(self.n)}</description>{''.join(self.items)}"
            "</channel></rss>"
        ).encode()


def ordinary_title(rng: random.Random) -> str:
    return f"{rng.choice(PLACES)}: {rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}"


def make_feeds(count: int, entries: int, start: datetime) -> list[Feed]:
    feeds = []
    for n in range(count):
        rng = random.Random(n)
        feed = Feed(n)
        for k in range(entries):
            title = ordinary_title(rng)
            if rng.random() < 0.1:
                title = f"{title} {rng.choice(MENTIONS)}"
            feed.items.append(feed.item(title, start - timedelta(minutes=20 * (k + 1)), rng))
        feed.render(entries)
        feeds.append(feed)
    return feeds


def advance(feeds: list[Feed], entries: int, now: datetime) -> None:
    """Every feed gains NEW_PER_FEED entries; some gain a story about a tracked item."""
    for feed in feeds:
        rng = random.Random(10_000 + feed.n)
        fresh = [feed.item(ordinary_title(rng), now, rng) for _ in range(NEW_PER_FEED)]
        if feed.n % STORY_EVERY == 0:
            story = STORIES[(feed.n // (2 * STORY_EVERY)) % len(STORIES)]
            # The second outlet carrying a story styles it its own way, as outlets do.
            if (feed.n // STORY_EVERY) % 2:
                story = f"{story} - {outlet(feed.n)}"
            fresh[0] = feed.item(story, now, rng)
        feed.items[:0] = reversed(fresh)
        feed.render(entries)


def serve(conn: Connection, count: int, entries: int, start: datetime) -> None:
    """The feed server, in its own process: sends its port, serves until the pipe closes."""
    asyncio.run(_serve(conn, count, entries, start))


async def _serve(conn: Connection, count: int, entries: int, start: datetime) -> None:
    feeds = make_feeds(count, entries, start)
    stats = {"full": 0, "conditional": 0}

    async def feed(request: web.Request) -> web.Response:
        f = feeds[int(request.match_info["n"])]
        if request.headers.get("If-None-Match") == f.etag:
            stats["conditional"] += 1
            return web.Response(status=304, headers={"ETag": f.etag})
        stats["full"] += 1
        return web.Response(
            body=f.body, headers={"ETag": f.etag}, content_type="application/rss+xml"
        )

    async def show_stats(_request: web.Request) -> web.Response:
        return web.json_response(stats)

    async def advance_feeds(request: web.Request) -> web.Response:
        advance(feeds, entries, datetime.fromisoformat(request.query["now"]))
        return web.json_response({"version": feeds[0].version})

    app = web.Application()
    app.router.add_get("/feed/{n}.xml", feed)
    app.router.add_get("/stats", show_stats)
    app.router.add_post("/advance", advance_feeds)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    conn.send(sock.getsockname()[1])
    # The parent closing its end, or dying, makes the pipe readable (EOF): time to go.
    closed = asyncio.Event()
    asyncio.get_running_loop().add_reader(conn.fileno(), closed.set)
    await closed.wait()
    await runner.cleanup()


@contextmanager
def feed_server(count: int, entries: int, start: datetime) -> Iterator[str]:
    # spawn, not fork: the child must not inherit this process's memory or its imports' state.
    ctx = multiprocessing.get_context("spawn")
    ours, theirs = ctx.Pipe()
    process = ctx.Process(target=serve, args=(theirs, count, entries, start), daemon=True)
    process.start()
    theirs.close()
    try:
        if not ours.poll(120):
            raise RuntimeError("the feed server did not start")
        yield f"http://127.0.0.1:{ours.recv()}"
    finally:
        ours.close()
        process.join(10)
        if process.is_alive():
            process.terminate()


# --- PostgreSQL: a database of the bench's own --------------------------------------------


def _admin_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql", database="postgres").render_as_string(False)


async def create_pg_database(url: str) -> None:
    name = make_url(url).database
    conn = await asyncpg.connect(_admin_dsn(url))
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            # It may hold someone's data; the bench needs an empty one and drops it after.
            raise SystemExit(f"database {name!r} exists; drop it or name another")
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_pg_database(url: str) -> None:
    conn = await asyncpg.connect(_admin_dsn(url))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)')
    finally:
        await conn.close()


# --- measuring -----------------------------------------------------------------------------


class Tally(logging.Handler):
    """Counts what the bot logs: a source failing is a finding, and 500 tracebacks are not."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: dict[tuple[str, str], int] = {}
        self.first: dict[tuple[str, str], str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        key = (record.levelname, str(record.msg))
        self.seen[key] = self.seen.get(key, 0) + 1
        if key not in self.first:
            cause = f" ({record.exc_info[1]!r})" if record.exc_info else ""
            self.first[key] = (record.getMessage() + cause)[:240]


@dataclass
class Cycle:
    seconds: float = 0.0
    polled: int = 0
    full: int = 0
    conditional: int = 0
    stored: int = 0
    failing: int = 0
    error: str | None = None


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child_peak_rss_mb(pid: int) -> float:
    """Peak RSS of a live child process (the feed parser), from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def bare_fetches(
    http: httpx.AsyncClient, urls: list[str], etags: dict[str, str] | None
) -> tuple[float, dict[str, str]]:
    """The baseline: every URL fetched, CONCURRENCY at a time, and nothing else done."""
    semaphore = asyncio.Semaphore(CONCURRENCY)
    seen: dict[str, str] = {}

    async def one(url: str) -> None:
        headers = {"If-None-Match": etags[url]} if etags else {}
        async with semaphore:
            response = await http.get(url, headers=headers)
        expected = 304 if etags else 200
        if response.status_code != expected:
            raise RuntimeError(f"{url}: HTTP {response.status_code}, expected {expected}")
        seen[url] = response.headers["etag"]

    t0 = time.perf_counter()
    await asyncio.gather(*(one(url) for url in urls))
    return time.perf_counter() - t0, seen


async def server_stats(http: httpx.AsyncClient, base: str) -> dict[str, int]:
    stats: dict[str, int] = (await http.get(f"{base}/stats")).json()
    return stats


async def count(services: Services, table: type[SQLModel]) -> int:
    async with services.sessions() as session:
        return (await session.exec(select(func.count()).select_from(table))).one()


async def failing_sources(services: Services) -> int:
    stmt = select(func.count()).where(col(NewsSource.consecutive_failures) > 0)
    async with services.sessions() as session:
        return (await session.exec(stmt)).one()


async def run_cycle(poller: NewsPoller, http: httpx.AsyncClient, base: str) -> Cycle:
    services = poller.services
    before, stored = await server_stats(http, base), await count(services, NewsEntry)
    cycle = Cycle()
    t0 = time.perf_counter()
    try:
        cycle.polled = await poller.poll_due()
        # Delivery runs beside the polls; a cycle counts until its posts are out.
        await poller.drain()
    except Exception as exc:  # a cycle that dies is a finding; the figures still print
        cycle.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
    cycle.seconds = time.perf_counter() - t0
    after = await server_stats(http, base)
    cycle.full = after["full"] - before["full"]
    cycle.conditional = after["conditional"] - before["conditional"]
    cycle.stored = await count(services, NewsEntry) - stored
    cycle.failing = await failing_sources(services)
    return cycle


def story_counts(sources: int) -> tuple[int, int]:
    """(entries about tracked items the second cycle adds, distinct stories among them)."""
    carriers = range(0, sources, STORY_EVERY)
    return len(carriers), len({(n // (2 * STORY_EVERY)) % len(STORIES) for n in carriers})


def row(label: str, value: float, baseline: float, unit: str, target: float | None) -> str:
    """One line of the table: for times the ratio to the baseline, for memory the growth."""
    shown = ".2f" if unit == "s" else ".0f"
    ratio = f"x{value / baseline:.1f}" if unit == "s" else f"+{value - baseline:.0f} MB"
    goal = f"<= {target:g} {unit}: {'ok' if value <= target else 'OVER'}" if target else ""
    line = f"{label:24}{value:>7{shown}} {unit:2}{baseline:>9{shown}} {unit:2}{ratio:>9}   {goal}"
    return line.rstrip()


def cycles(first: Cycle, second: Cycle, quiet: Cycle) -> list[tuple[str, Cycle]]:
    return [("first", first), ("second", second), ("all-304", quiet)]


async def main(
    sources: int, entries: int, guilds: int, database_url: str | None, show_log: bool
) -> int:
    tally = Tally()
    logging.basicConfig(level=logging.WARNING, handlers=[tally])
    if show_log:
        logging.getLogger().addHandler(logging.StreamHandler())
    # The configured outlets are not reachable from here: the bench's own feeds replace them.
    tracker = load_tracker(ROOT / "config" / "tracker.toml").without_sources()
    # Near the wall clock: rows the poller stamps with the wall clock (NewsPost.created_at)
    # must fall inside the dedup window it computes from services.clock.
    start = datetime.now(UTC).replace(microsecond=0)
    clock_now = [start]

    with tempfile.TemporaryDirectory() as tmp, feed_server(sources, entries, start) as base:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'news.db'}"
        postgres = url.startswith("postgresql")
        if postgres:
            await create_pg_database(url)
        try:
            engine = create_engine(url)
            sessions = session_factory(engine)
            prepared = await prepare_database(engine, sessions, items=tracker.items)
            urls = [f"{base}/feed/{n}.xml" for n in range(sources)]
            async with writing(sessions) as session:
                await store.ensure_sources(
                    session, sources=[(u, outlet(n)) for n, u in enumerate(urls)]
                )
                # Configured sources post to every guild with a news channel.
                session.add_all(
                    GuildSettings(guild_id=10**17 + g, news_channel_id=10**17 + 10**6 + g)
                    for g in range(guilds)
                )
                await session.commit()

            sent, edited, warned = [0], [0], [0]

            async def post(_out: Outgoing) -> Delivery:
                sent[0] += 1
                return Sent(sent[0])

            async def edit(_out: Outgoing) -> None:
                edited[0] += 1

            async def warn(_guild: int, _channel: int, _source: NewsSource) -> None:
                warned[0] += 1

            # As bot.py's run() builds it, so the poller meets the same pool limits.
            async with feed_client(
                user_agent="motionwatch-bench", allow_private=True, max_connections=32
            ) as http:
                services = build_services(
                    Settings(
                        _env_file=None,
                        database_url=url,
                        news_poll_seconds=POLL_SECONDS,
                        allow_private_sources=True,
                    ),
                    tracker,
                    engine=engine,
                    http=http,
                    clock=lambda: clock_now[0],
                    item_ids=prepared.item_ids,
                )
                poller = NewsPoller(services, post=post, edit=edit, warn=warn)

                # Warm-up (connections, the server's first responses), then the baseline.
                await bare_fetches(http, urls, None)
                bare_full, etags = await bare_fetches(http, urls, None)
                bare_304, _ = await bare_fetches(http, urls, etags)
                rss_before = peak_rss_mb()

                first = await run_cycle(poller, http, base)
                posted_first = sent[0]

                clock_now[0] += timedelta(seconds=POLL_SECONDS + 1)
                await http.post(f"{base}/advance", params={"now": clock_now[0].isoformat()})
                second = await run_cycle(poller, http, base)
                posts = await count(services, NewsPost)
                async with services.sessions() as session:
                    outlets = (await session.exec(select(NewsPost.outlets))).all()
                merged = sum(len(o) - 1 for o in outlets)

                clock_now[0] += timedelta(seconds=POLL_SECONDS + 1)
                quiet = await run_cycle(poller, http, base)
                total_stored = await count(services, NewsEntry)
                parser_pid, _, _ = await FEED_PARSER.limits()
                parser_peak = child_peak_rss_mb(parser_pid)
            peak = peak_rss_mb()
            await engine.dispose()
        finally:
            if postgres:
                await drop_pg_database(url)

    about, stories = story_counts(sources)
    problems = [
        what
        for ok, what in [
            (first.polled == sources, f"first cycle polled {first.polled} of {sources}"),
            (first.full == sources, f"first cycle: {first.full} full responses"),
            (first.stored == sources * entries, f"first cycle stored {first.stored} entries"),
            (posted_first == 0, f"first cycle posted {posted_first}"),
            (second.polled == sources, f"second cycle polled {second.polled} of {sources}"),
            (second.full == sources, f"second cycle: {second.full} full responses"),
            (second.stored == sources * NEW_PER_FEED, f"second cycle stored {second.stored}"),
            (posts == sent[0], f"{posts} posts stored, {sent[0]} sent"),
            (posts + merged == about * guilds, f"{posts} posts + {merged} merged"),
            (quiet.polled == sources, f"all-304 cycle polled {quiet.polled} of {sources}"),
            (quiet.conditional == sources, f"all-304 cycle: {quiet.conditional} 304s"),
            (quiet.full == 0, f"all-304 cycle: {quiet.full} full responses"),
            (total_stored == sources * (entries + NEW_PER_FEED), f"{total_stored} entries"),
            (quiet.failing == 0, f"{quiet.failing} sources failing at the end"),
            (warned[0] == 0, f"{warned[0]} disabled-source warnings"),
        ]
        + [
            (c.error is None, f"{name} cycle raised {c.error}")
            for name, c in cycles(first, second, quiet)
        ]
        if not ok
    ]

    print(
        f"{sources} sources x {entries} entries, {guilds} guilds following, "
        f"concurrency {CONCURRENCY} ({url.split(':')[0]})"
    )
    print(f"{'':24}{'poller':>7}{'':3}{'baseline':>9}{'':3}{'ratio':>9}   target")
    print(row("first cycle (all new)", first.seconds, bare_full, "s", FIRST_TARGET))
    print(row(f"second cycle (+{NEW_PER_FEED}/feed)", second.seconds, bare_full, "s", None))
    print(row("all-304 cycle", quiet.seconds, bare_304, "s", QUIET_TARGET))
    print(row("peak RSS", peak, rss_before, "MB", RSS_TARGET))
    print(
        f"{'parser process peak RSS':24}{parser_peak:7.0f} MB   "
        f"(one of {FEED_PARSER.workers} children, each capped at 1 GiB)"
    )
    print("(baselines: the same fetches made bare; for RSS, the peak before the first cycle)")
    for name, c in cycles(first, second, quiet):
        print(
            f"{name} cycle: {c.polled} polled, {c.full} full and {c.conditional} 304 responses, "
            f"{c.stored} entries stored, {c.failing} sources failing"
            + (f", RAISED {c.error}" if c.error else "")
        )
    print(
        f"second cycle posts: {posts} sent, {merged} merged into them as other outlets; "
        f"{about} entries about tracked items = {stories} stories x {guilds} guilds"
        + (
            f"; {posts - stories * guilds} posts repeat a story another outlet carried"
            if posts > stories * guilds
            else ""
        )
    )
    print(f"entries stored: {total_stored}; edits: {edited[0]}")
    for (level, message), times in sorted(tally.seen.items(), key=lambda kv: -kv[1]):
        print(f"logged {times} x {level} {message!r}, first: {tally.first[(level, message)]}")
    for problem in problems:
        print(f"SANITY CHECK FAILED: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=500)
    parser.add_argument("--entries", type=int, default=50)
    parser.add_argument("--guilds", type=int, default=50)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--log", action="store_true", help="also print what the bot logs")
    args = parser.parse_args()
    sys.exit(
        asyncio.run(main(args.sources, args.entries, args.guilds, args.database_url, args.log))
    )
