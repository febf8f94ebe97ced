"""Each due feed is fetched by one process per poll (SPEC §6): the poll leases its sources.

The lease query on both back ends (two leases at once never share a source; a leased
source falls due again only when its lease ends; disabled sources keep their probe
times), the poller around it (lease length, a poll that dies mid-fetch, a source whose
lease ran out while it waited for a slot), and three real ``python bot.py`` processes
polling twenty slow loopback feeds, one of them killed with SIGKILL mid-poll.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import shutil
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from sqlmodel import select

from config.settings import Settings
from config.tracker import load_tracker
from motionwatch_standin import DiscordStandIn
from news.fetch import FetchResult
from services import news as news_service
from services.build import build_services
from services.news import NewsPoller, Outgoing, Sent
from storage.engine import SessionFactory, create_engine, session_factory, writing
from storage.models import GuildSource, NewsSource
from storage.queries.news import lease_due_sources
from tests.conftest import ROOT
from tests.test_cli import standin_env
from tests.test_freshness import BotProcess
from tests.test_news_crash import _until

NOW = datetime(2027, 3, 1, 9, tzinfo=UTC)
LEASE = timedelta(seconds=60)


async def _add(sessions: SessionFactory, *sources: NewsSource) -> list[int]:
    async with writing(sessions) as session:
        session.add_all(sources)
        await session.commit()
    return [s.id for s in sources if s.id is not None]


def _configured(n: int, **fields: Any) -> NewsSource:
    """A configured source (so followed: it serves every guild)."""
    return NewsSource(
        url=f"https://wire{n}.example/feed", name=f"Wire {n}", from_config=True, **fields
    )


async def _lease(sessions: SessionFactory, now: datetime) -> list[int]:
    async with writing(sessions) as session:
        taken = await lease_due_sources(session, now=now, lease_until=now + LEASE)
        await session.commit()
    return [s.id for s in taken if s.id is not None]


async def _stored(sessions: SessionFactory, source_id: int) -> NewsSource:
    async with sessions() as session:
        row = await session.get(NewsSource, source_id)
    assert row is not None
    return row


@asynccontextmanager
async def _processes(database_url: str, count: int) -> AsyncIterator[list[SessionFactory]]:
    """Session factories on engines of their own: as many processes, to the database."""
    engines = [create_engine(database_url) for _ in range(count)]
    try:
        yield [session_factory(e) for e in engines]
    finally:
        for engine in engines:
            await engine.dispose()


# -- the lease query ------------------------------------------------------------------------


async def test_leases_taken_at_once_never_share_a_source(
    database_url: str, sessions: SessionFactory
) -> None:
    due = await _add(sessions, *(_configured(n) for n in range(40)))
    now = NOW
    async with _processes(database_url, 6) as processes:
        for _ in range(3):
            taken = await asyncio.gather(*(_lease(p, now) for p in processes))
            every = [source for one in taken for source in one]
            assert sorted(every) == sorted(due), taken  # each exactly once, none left
            now += LEASE  # all due again


async def test_a_lease_in_progress_is_not_taken_again(
    database_url: str, sessions: SessionFactory
) -> None:
    """PostgreSQL passes over the rows another transaction is leasing rather than wait
    for it; SQLite lets one writer in at a time, and the next finds nothing due."""
    due = await _add(sessions, *(_configured(n) for n in range(5)))
    postgres = database_url.startswith("postgresql")
    async with _processes(database_url, 1) as (other,):
        async with writing(sessions) as session:
            taken = await lease_due_sources(session, now=NOW, lease_until=NOW + LEASE)
            assert sorted(s.id for s in taken if s.id is not None) == sorted(due)
            if postgres:
                # Answered while the first lease is still open: it did not wait.
                assert await asyncio.wait_for(_lease(other, NOW), 10) == []
            else:
                waiting = asyncio.create_task(_lease(other, NOW))
            await session.commit()
        if not postgres:
            assert await asyncio.wait_for(waiting, 10) == []
        assert await _lease(other, NOW) == []


async def test_a_leased_source_falls_due_again_when_its_lease_ends(
    sessions: SessionFactory,
) -> None:
    (fresh, polled, later) = await _add(
        sessions,
        _configured(0),
        _configured(1, next_poll_at=NOW - timedelta(minutes=1), etag='"e1"', last_modified="x"),
        _configured(2, next_poll_at=NOW + timedelta(seconds=30)),
    )
    async with writing(sessions) as session:
        taken = await lease_due_sources(session, now=NOW, lease_until=NOW + LEASE)
        await session.commit()
    # Never polled first, then the longest due; as they were before the lease.
    assert [s.id for s in taken] == [fresh, polled]
    assert (taken[1].etag, taken[1].last_modified) == ('"e1"', "x")
    assert taken[1].next_poll_at == NOW - timedelta(minutes=1)
    assert (await _stored(sessions, polled)).next_poll_at == NOW + LEASE
    # Only the one that fell due meanwhile, until the lease ends.
    assert await _lease(sessions, NOW + timedelta(seconds=30)) == [later]
    assert await _lease(sessions, NOW + LEASE - timedelta(seconds=1)) == []
    assert await _lease(sessions, NOW + LEASE) == [fresh, polled]


async def test_disabled_sources_are_leased_only_when_their_probe_is_due(
    sessions: SessionFactory,
) -> None:
    probe = NOW + timedelta(days=1)
    disabled = dict(enabled=False, disabled_at=NOW, consecutive_failures=5, last_error="boom")
    (probed, never_probed, unfollowed, followed) = await _add(
        sessions,
        _configured(0, next_poll_at=probe, **disabled),
        _configured(1, next_poll_at=None, **disabled),
        NewsSource(url="https://own.example/a", name="A"),  # a guild's own, nobody follows it
        NewsSource(url="https://own.example/b", name="B"),
    )
    async with writing(sessions) as session:
        session.add(GuildSource(guild_id=10**17, source_id=followed))
        await session.commit()
    assert await _lease(sessions, NOW) == [followed]
    async with writing(sessions) as session:
        row = await session.get(NewsSource, followed)
        assert row is not None
        row.next_poll_at = probe + timedelta(days=365)  # its poll finished, far off
        session.add(row)
        await session.commit()
    assert await _lease(sessions, probe - timedelta(seconds=1)) == []
    assert await _lease(sessions, probe) == [probed]
    row = await _stored(sessions, probed)
    # Leased for its probe, and nothing else: still off, its failures as they were.
    assert (row.enabled, row.disabled_at, row.consecutive_failures) == (False, NOW, 5)
    assert row.next_poll_at == probe + LEASE
    assert await _lease(sessions, probe + LEASE - timedelta(seconds=1)) == []
    # The probe's poll never finished (the process died, say): probed again at lease end.
    assert await _lease(sessions, probe + LEASE) == [probed]
    assert never_probed not in await _lease(sessions, probe + timedelta(days=30))
    assert unfollowed not in await _lease(sessions, probe + timedelta(days=60))


# -- the poller around it -------------------------------------------------------------------


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def _post(_out: Outgoing) -> Sent:
    return Sent(1)


async def _edit(_out: Outgoing) -> None:
    return None


async def _warn(_guild: int, _channel: int, _source: NewsSource) -> None:
    return None


@asynccontextmanager
async def _poller(
    database_url: str, clock: Clock, *, interval: int = 900
) -> AsyncIterator[NewsPoller]:
    """A poller on an engine of its own, as another process would run it (no Discord)."""
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        news_poll_seconds=interval,
        allow_private_sources=True,
    )
    tracker = load_tracker(ROOT / "config" / "tracker.toml").without_sources()
    async with httpx.AsyncClient() as http:
        services = build_services(settings, tracker, http=http, clock=clock)
        try:
            yield NewsPoller(services, post=_post, edit=_edit, warn=_warn)
        finally:
            await services.engine.dispose()


@dataclass
class FakeFetches:
    """Stands in for fetch_feed: records who fetched what; a 304 unless told to hang."""

    calls: list[tuple[str, str]]
    clients: dict[int, str]
    hang: set[str]

    async def __call__(self, client: httpx.AsyncClient, url: str, **_: Any) -> FetchResult:
        who = self.clients[id(client)]
        self.calls.append((who, url))
        if who in self.hang:
            await asyncio.Event().wait()  # until cancelled
        return FetchResult("not_modified", None, None, None, url)

    def by(self, who: str) -> list[str]:
        return [url for w, url in self.calls if w == who]


@pytest.fixture
def fetches(monkeypatch: pytest.MonkeyPatch) -> FakeFetches:
    fake = FakeFetches([], {}, set())
    monkeypatch.setattr(news_service, "fetch_feed", fake)
    return fake


async def test_the_lease_lasts_a_minute_or_the_poll_interval_if_shorter(
    database_url: str, sessions: SessionFactory
) -> None:
    async with _poller(database_url, Clock(NOW)) as default:
        assert default.lease() == timedelta(seconds=60)
    async with _poller(database_url, Clock(NOW), interval=5) as frequent:
        assert frequent.lease() == timedelta(seconds=5)


async def test_the_feeds_of_a_poll_that_died_mid_fetch_are_taken_over_when_its_lease_ends(
    database_url: str, sessions: SessionFactory, fetches: FakeFetches
) -> None:
    sources = [_configured(n) for n in range(3)]
    urls = [s.url for s in sources]
    ids = await _add(sessions, *sources)
    clock = Clock(NOW)
    async with _poller(database_url, clock) as dying, _poller(database_url, clock) as other:
        fetches.clients.update({id(dying.services.http): "dying", id(other.services.http): "other"})
        fetches.hang.add("dying")
        lease_end = NOW + dying.lease()
        poll = asyncio.create_task(dying.poll_due())

        async def all_in_flight() -> bool | None:
            return len(fetches.by("dying")) == 3 or None

        await _until(all_in_flight, "the dying process's fetches")
        # Killed mid-fetch, as far as the database can tell: it writes nothing more.
        poll.cancel()
        with pytest.raises(asyncio.CancelledError):
            await poll
        assert await other.poll_due() == 0
        clock.now = lease_end - timedelta(seconds=1)
        assert await other.poll_due() == 0
        clock.now = lease_end
        assert await other.poll_due() == 3
        assert sorted(fetches.by("other")) == sorted(urls)
        for source_id in ids:
            row = await _stored(sessions, source_id)
            assert row.initialized_at == lease_end
            assert row.next_poll_at == lease_end + timedelta(seconds=900)


async def test_a_source_whose_lease_ran_out_while_it_waited_is_left_for_the_next_lease(
    database_url: str,
    sessions: SessionFactory,
    fetches: FakeFetches,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, second, third = await _add(
        sessions,
        *(_configured(n, next_poll_at=NOW - timedelta(minutes=3 - n)) for n in range(3)),
    )
    clock = Clock(NOW)
    async with _poller(database_url, clock) as poller:
        fetches.clients[id(poller.services.http)] = "poller"
        lease_end = NOW + poller.lease()
        original = fetches.__call__

        async def slow_first(client: httpx.AsyncClient, url: str, **kw: Any) -> FetchResult:
            # The first fetch takes the whole lease: the other two, which began after it
            # in this test's one-at-a-time poller, find their lease over.
            clock.now = max(clock.now, lease_end)
            return await original(client, url, **kw)

        poller._semaphore = asyncio.Semaphore(1)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(news_service, "fetch_feed", slow_first)
            assert await poller.poll_due() == 3
        assert fetches.by("poller") == ["https://wire0.example/feed"]
        assert "2 of 3 sources waited past their lease" in caplog.text
        assert (await _stored(sessions, second)).next_poll_at == lease_end
        assert (await _stored(sessions, third)).next_poll_at == lease_end
        # Due again, and taken (by whichever process comes first) like any other.
        assert await poller.poll_due() == 2
        assert fetches.by("poller")[1:] == [
            "https://wire1.example/feed",
            "https://wire2.example/feed",
        ]
        assert (await _stored(sessions, first)).initialized_at == lease_end


# -- three real processes ---------------------------------------------------------------------

FEEDS = 20
PROCESSES = 3
# NEWS_POLL_SECONDS: the scheduler ticks this often too, and the lease lasts as long.
INTERVAL = 3.0
# Each feed answers this late, so a poll lasts long enough (two waves of 16 fetches at
# once) for the other processes' ticks to fall inside it: without the lease they would
# fetch the same feeds again.
DELAY = 0.3
# Scheduling, the database and the stand-in, on a busy machine.
SLACK = 1.5
# Two fetches of one feed are at least a lease apart, less the wait of the first for a
# free slot (one response) and the network.
MIN_GAP = INTERVAL - DELAY - 0.3
# At most: the poll (its two waves and its record), the interval, and a tick's wait.
MAX_GAP = 2 * INTERVAL + 3 * DELAY + SLACK
# What a killed process held was fetched again by the end of its lease and a tick.
TAKEOVER = 2 * INTERVAL + DELAY + SLACK


@dataclass(frozen=True, slots=True)
class Fetch:
    at: float  # time.monotonic() when the request came in
    pid: int | None  # the process that asked


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except FileNotFoundError:  # the process is gone
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def _socket_of(port: int) -> str | None:
    """The inode of the TCP socket whose local port is ``port`` (Linux's /proc)."""
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                return fields[9]
    return None


class SlowFeeds:
    """RSS feeds on loopback that answer after DELAY and remember who asked when."""

    def __init__(self, names: Sequence[str]) -> None:
        self.names = list(names)
        self.fetches: dict[str, list[Fetch]] = {name: [] for name in names}
        # The requests not answered yet: (feed, fetch) by request.
        self.in_flight: dict[int, tuple[str, Fetch]] = {}
        self.pids: set[int] = set()

    def owner(self, port: int) -> int | None:
        """The bot process whose connection comes from ``port``.

        Looked up on every request: a port a closed connection used may be another
        process's next.
        """
        inode = _socket_of(port)
        return next((pid for pid in self.pids if inode in _socket_inodes(pid)), None)

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        peer = request.transport.get_extra_info("peername") if request.transport else None
        fetch = Fetch(time.monotonic(), self.owner(peer[1]) if peer else None)
        self.fetches[name].append(fetch)
        key = id(request)
        self.in_flight[key] = (name, fetch)
        try:
            await asyncio.sleep(DELAY)  # a slow feed
        finally:
            del self.in_flight[key]
        etag = f'"{name}-1"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304)
        body = (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>'
            f"<item><guid>{name}-1</guid><title>Weather in {name}</title>"
            f"<link>https://{name}.example/1</link></item></channel></rss>"
        )
        return web.Response(
            body=body.encode(), headers={"ETag": etag}, content_type="application/rss+xml"
        )

    @asynccontextmanager
    async def serving(self) -> AsyncIterator[str]:
        app = web.Application()
        app.router.add_get("/{name}.xml", self.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            await runner.cleanup()

    def since(self, start: float) -> dict[str, list[Fetch]]:
        return {n: [f for f in fetches if f.at >= start] for n, fetches in self.fetches.items()}


def _tracker_with_feeds(tmp: Path, urls: Sequence[str]) -> Path:
    """The shipped tracker file, with the outlets replaced by ``urls`` (configured: polled
    whether or not a guild follows them)."""
    shutil.copytree(ROOT / "config" / "seeds", tmp / "seeds")
    text = (ROOT / "config" / "tracker.toml").read_text(encoding="utf-8")
    text = re.sub(r'\[\[items\.sources\]\]\nname = "[^"]*"\nurl = "[^"]*"\n\n?', "", text)
    sources = "".join(
        f'[[items.sources]]\nname = "Feed {n}"\nurl = "{url}"\n\n' for n, url in enumerate(urls)
    )
    text = text.replace("[items.keywords]", f"{sources}[items.keywords]", 1)
    path = tmp / "tracker.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _gaps(fetches: Sequence[Fetch]) -> list[float]:
    return [b.at - a.at for a, b in itertools.pairwise(fetches)]


@contextmanager
def _logs_on_failure(bots: Sequence[BotProcess]) -> Iterator[None]:
    try:
        yield
    except BaseException:
        print(*(bot.tail() for bot in bots), sep="\n")
        raise


@pytest.mark.skipif(
    not Path("/proc/net/tcp").exists(), reason="tells the processes apart by /proc (Linux)"
)
async def test_three_processes_fetch_each_feed_once_per_poll_and_take_over_a_killed_ones(
    standin: DiscordStandIn, database_url: str, tmp_path: Path
) -> None:
    feeds = SlowFeeds([f"feed{n:02d}" for n in range(FEEDS)])
    engine = create_engine(database_url)
    sessions = session_factory(engine)

    async def all_connected() -> bool | None:
        return len(standin.live_sessions) == PROCESSES or None

    async def all_initialized() -> bool | None:
        async with sessions() as session:
            rows = (await session.exec(select(NewsSource))).all()
        return (len(rows) == FEEDS and all(r.initialized_at for r in rows)) or None

    def fetched_since(start: float, times: int) -> Callable[[], Awaitable[bool | None]]:
        async def probe() -> bool | None:
            return min(len(f) for f in feeds.since(start).values()) >= times or None

        return probe

    async with feeds.serving() as base:
        tracker = _tracker_with_feeds(tmp_path, [f"{base}/{name}.xml" for name in feeds.names])
        bots = [
            BotProcess(
                f"bot{n}",
                standin_env(
                    standin,
                    database_url,
                    TRACKER_CONFIG=str(tracker),
                    NEWS_POLL_SECONDS=f"{INTERVAL:g}",
                    ALLOW_PRIVATE_SOURCES="1",
                    SHARD_COUNT=str(PROCESSES),
                    SHARD_IDS=str(n),
                ),
                tmp_path / f"bot{n}.log",
            )
            for n in range(PROCESSES)
        ]
        try:
            with _logs_on_failure(bots):
                # Together, as a platform starts its workers.
                launched = time.monotonic()
                await asyncio.gather(*(bot.start() for bot in bots))
                processes = {b.process.pid: b.process for b in bots if b.process is not None}
                feeds.pids.update(processes)
                await _until(all_connected, "three gateway sessions", timeout=60)
                await _until(all_initialized, "every feed's first poll", timeout=30)
                start = time.monotonic()
                # Three cycles with all three processes polling...
                await _until(fetched_since(start, 3), "three cycles", timeout=4 * MAX_GAP)
                # ...then one is killed while its fetches are in flight: it has recorded
                # none of the feeds it took (that comes after the last fetch of its poll).
                deadline = time.monotonic() + 2 * MAX_GAP
                while not (asking := [f for f in feeds.in_flight.values() if f[1].pid]):
                    assert time.monotonic() < deadline, "no poll in flight"
                    await asyncio.sleep(0.005)  # looking again, not waiting for a time
                victim = asking[0][1].pid
                assert victim is not None
                # Taken with no await in between: these were in flight at the kill.
                held = {name: fetch for name, fetch in asking if fetch.pid == victim}
                processes[victim].send_signal(signal.SIGKILL)
                killed = time.monotonic()
                await processes[victim].wait()
                feeds.pids.discard(victim)
                # The takeover, and a cycle after it.
                await _until(fetched_since(killed, 2), "two more cycles", timeout=4 * MAX_GAP)
                end = time.monotonic()
                for bot in bots:
                    if bot.process is not processes[victim]:
                        assert await bot.stop() == 0, bot.tail()
        finally:
            for bot in bots:
                if bot.process is not None and bot.process.returncode is None:
                    await bot.stop(timeout=10)
    try:
        async with sessions() as session:
            rows = (await session.exec(select(NewsSource))).all()
    finally:
        await engine.dispose()

    fetched = feeds.since(start)
    window = end - start
    names = {pid: str(n) for n, pid in enumerate(processes)}
    print(f"started in {start - launched:.1f} s; then {FEEDS} feeds for {window:.1f} s", end=" ")
    print(f"= {window / INTERVAL:.1f} intervals; process", end=" ")
    print(f"{names[victim]} killed at {killed - start:.1f} s holding {len(held)} in flight")
    for name, fetches in fetched.items():
        who = "".join(names.get(f.pid or 0, "?") for f in fetches)
        shown = " ".join(f"{g:.1f}" for g in _gaps(fetches))
        print(f"  {name}: {len(fetches)} fetches by {who}; gaps {shown}")

    for name, fetches in fetched.items():
        gaps = _gaps(fetches)
        # Never twice in one poll: not by two processes, and not before a lease ended,
        # even the lease of the killed process.
        assert min(gaps) >= MIN_GAP, (name, gaps)
        # Never left behind: a cycle at most between two fetches, and at the kill one
        # extra (the killed process may have taken the feed and not fetched it yet).
        spanning = next(i for i, f in enumerate(fetches) if f.at >= killed) - 1
        assert max(gaps[:spanning] + gaps[spanning + 1 :]) <= MAX_GAP, (name, gaps)
        assert gaps[spanning] <= MAX_GAP + 2 * INTERVAL, (name, gaps)
        # Once per cycle, then: the count follows from the gaps.
        assert (window - 2 * INTERVAL) / MAX_GAP <= len(fetches) <= window / MIN_GAP + 1
    # What the killed process was fetching, another took over when its lease ended.
    assert held
    for name, fetch in held.items():
        after = next(f for f in fetched[name] if f.at > fetch.at)
        assert after.pid in processes and after.pid != victim, name
        assert after.at - fetch.at >= MIN_GAP and after.at - killed <= TAKEOVER, name
    # Every poll succeeded: nothing was put off by a failure.
    assert [(r.consecutive_failures, r.last_error) for r in rows] == [(0, None)] * FEEDS
    for bot in bots:
        assert "Traceback" not in bot.text(), bot.tail()
