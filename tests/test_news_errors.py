"""News sources that go wrong (SPEC §4), through the real bot's poller against feeds on loopback.

A source that was healthy when it was added turns into one answering 500, hanging, sending
garbage, an oversize body, a redirect loop or an XML entity bomb. Each time the error is
recorded on the source, nothing is posted, the poll goes on for the other sources, and the
source backs off exponentially until five failures in a row disable it with one warning.
The unchanged feed (RSS and Atom) answers conditional requests with 304.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from email.utils import format_datetime
from html import escape
from typing import Literal

import pytest
from aiohttp import web
from sqlmodel import col, select

from motionwatch_standin.messages import MessageRecord
from services.news import FAILURES_TO_DISABLE, backoff
from storage.models import NewsSource
from tests import test_news_e2e
from tests.measuring import earlier_objects_set_aside, watching_the_loop
from tests.test_news_e2e import START, Newsroom
from tests.test_news_logic import HIDDEN_PROLOGS

# The real bot with a news channel and a fake clock, shared with the other news tests.
room = test_news_e2e.room

Behaviour = Literal["feed", "status-500", "hang", "raw", "redirect-loop"]

GSOMIA_ATOM = "Seoul keeps the GSOMIA in place, ministry says"
GSOMIA_HOSTILE = "Hostile outlet claims GSOMIA will be scrapped"
MAX_BODY = 4096
TIMEOUT = 0.5


@dataclass
class Source:
    """One feed on the loopback server: what it serves, and what it was asked."""

    title: str
    atom: bool = False
    items: list[tuple[str, str]] = field(default_factory=list)  # (key, title)
    behaviour: Behaviour = "feed"
    raw: bytes = b""  # served as is when behaviour == "raw"
    chunked: bool = False  # raw body streamed without Content-Length
    hits: int = 0
    conditional_hits: int = 0
    validators_seen: set[str] = field(default_factory=set)

    def body(self) -> bytes:
        return (atom_body if self.atom else rss_body)(self.title, self.items)

    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body()).hexdigest()[:16] + '"'

    def last_modified(self) -> str:
        return format_datetime(START + timedelta(minutes=len(self.items)), usegmt=True)


def link(key: str) -> str:
    return f"https://news.example/{key}"


def rss_body(title: str, items: list[tuple[str, str]], *, prolog: str = "", pad: str = "") -> bytes:
    entries = "".join(
        f"<item><guid>{key}</guid><title>{text}</title><link>{link(key)}</link>"
        f"<description>{text}</description><pubDate>{format_datetime(START)}</pubDate></item>"
        for key, text in items
    )
    return (
        f'<?xml version="1.0"?>{prolog}<rss version="2.0"><channel><title>{title}</title>'
        f"<description>{pad}</description>{entries}</channel></rss>"
    ).encode()


def atom_body(title: str, items: list[tuple[str, str]]) -> bytes:
    updated = START.strftime("%Y-%m-%dT%H:%M:%SZ")
    entries = "".join(
        f"<entry><id>urn:news:{key}</id><title>{escape(text)}</title>"
        f'<link rel="alternate" href="{link(key)}"/><updated>{updated}</updated>'
        f"<summary>{escape(text)}</summary></entry>"
        for key, text in items
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:feed:{escape(title)}</id>"
        f"<updated>{updated}</updated>{entries}</feed>"
    ).encode()


def entity_bomb(source: Source, *, one_line: bool = False, padding: int = 0) -> bytes:
    """The "billion laughs": ten levels of ten, 10^9 "lol"s, referenced in every entry."""
    declarations = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    # One declaration a line is the classic form. All on one line slips past feedparser's
    # line-anchored stripping of declarations, so the XML parser itself sees them.
    newline = "" if one_line else "\n"
    prolog = f"<!DOCTYPE rss [{newline}{newline.join(declarations)}{newline}]>"
    items = [(key, f"&lol9; {text}") for key, text in source.items]
    return rss_body(source.title, items, prolog=prolog, pad="x" * padding)


@dataclass
class Loopback:
    base: str
    served: dict[str, Source]

    def url(self, name: str) -> str:
        return f"{self.base}/{name}.xml"


@pytest.fixture
async def hostile() -> AsyncIterator[Loopback]:
    served: dict[str, Source] = {}
    release = asyncio.Event()

    async def feed(request: web.Request) -> web.StreamResponse:
        source = served[request.match_info["name"]]
        source.hits += 1
        if source.behaviour == "status-500":
            return web.Response(status=500, text="Internal Server Error")
        if source.behaviour == "hang":
            # Held until teardown: only the poller's deadline can end this request.
            await release.wait()
            return web.Response(body=source.body())
        if source.behaviour == "redirect-loop":
            raise web.HTTPFound(f"/{request.match_info['name']}/elsewhere")
        if source.behaviour == "raw":
            if not source.chunked:
                return web.Response(body=source.raw, content_type="application/rss+xml")
            response = web.StreamResponse(headers={"Content-Type": "application/rss+xml"})
            response.enable_chunked_encoding()
            await response.prepare(request)
            for start in range(0, len(source.raw), 1024):
                await response.write(source.raw[start : start + 1024])
            await response.write_eof()
            return response
        etag, modified = source.etag(), source.last_modified()
        if_none_match = request.headers.get("If-None-Match")
        if_modified_since = request.headers.get("If-Modified-Since")
        source.validators_seen |= {
            name for name in ("If-None-Match", "If-Modified-Since") if name in request.headers
        }
        # If-None-Match wins over If-Modified-Since when both are sent (RFC 9110 §13.2.2).
        if if_none_match == etag or (if_none_match is None and if_modified_since == modified):
            source.conditional_hits += 1
            return web.Response(status=304, headers={"ETag": etag, "Last-Modified": modified})
        kind = "application/atom+xml" if source.atom else "application/rss+xml"
        return web.Response(
            body=source.body(),
            content_type=kind,
            headers={"ETag": etag, "Last-Modified": modified},
        )

    async def elsewhere(request: web.Request) -> web.StreamResponse:
        served[request.match_info["name"]].hits += 1
        raise web.HTTPFound(f"/{request.match_info['name']}.xml")

    app = web.Application()
    app.router.add_get("/{name}.xml", feed)
    app.router.add_get("/{name}/elsewhere", elsewhere)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield Loopback(f"http://127.0.0.1:{port}", served)
    finally:
        release.set()
        await runner.cleanup()


async def source_row(room: Newsroom, url: str) -> NewsSource:
    async with room.bot.services.sessions() as session:
        found = await session.exec(select(NewsSource).where(col(NewsSource.url) == url))
        source: NewsSource = found.one()
        return source


def poll_seconds(room: Newsroom) -> int:
    seconds: int = room.bot.services.settings.news_poll_seconds
    return seconds


def messages(room: Newsroom) -> list[MessageRecord]:
    return room.standin.messages(room.news)


def titles(room: Newsroom) -> list[str]:
    """What the news channel shows: each story's title (or a plain message's text)."""
    return [str(m.embeds[0]["title"]) if m.embeds else m.content for m in messages(room)]


# --- each way a source can break, with a healthy Atom source polled alongside ----------------


def answer_500(source: Source) -> None:
    source.behaviour = "status-500"


def hang(source: Source) -> None:
    source.behaviour = "hang"


def garbage(source: Source) -> None:
    source.behaviour, source.raw = "raw", b"\x00\xff\xfe\x89PNG garbage \x01\x02" * 50


def oversize(source: Source, *, chunked: bool = False) -> None:
    # A real feed with a matching story, padded past the cap: only its size is wrong.
    body = rss_body(source.title, source.items, pad="x" * (2 * MAX_BODY))
    source.behaviour, source.raw, source.chunked = "raw", body, chunked


def redirect_loop(source: Source) -> None:
    source.behaviour = "redirect-loop"


def bomb(source: Source) -> None:
    source.behaviour, source.raw = "raw", entity_bomb(source)


@dataclass(frozen=True)
class Breakage:
    breaks: Callable[[Source], None]
    reason: str  # what the recorded error says


BREAKAGES = {
    "500": Breakage(answer_500, "HTTP 500"),
    "hanging": Breakage(hang, f"timed out after {TIMEOUT:g} s"),
    "garbage": Breakage(garbage, "not a feed"),
    "oversize": Breakage(oversize, f"body over {MAX_BODY} bytes"),
    "oversize-chunked": Breakage(
        lambda s: oversize(s, chunked=True), f"body over {MAX_BODY} bytes"
    ),
    "redirect-loop": Breakage(redirect_loop, "too many redirects"),
    "entity-bomb": Breakage(bomb, "entit"),  # "entity"/"entities": the reason names them
}


@pytest.mark.parametrize("kind", list(BREAKAGES))
async def test_a_broken_source_is_recorded_posts_nothing_and_the_poll_goes_on(
    room: Newsroom, hostile: Loopback, kind: str
) -> None:
    served = hostile.served
    served["bad"] = Source("Bad Wire", items=[("bad-1", "Weather in Seoul")])
    served["atom"] = Source("Atom Wire", atom=True, items=[("atom-1", "Football results")])
    added = await room.add_source(hostile.url("bad"), "Bad Wire")
    assert "Entries in the feed now: 1, about tracked items: 0." in added
    await room.add_source(hostile.url("atom"), "Atom Wire")
    first = await source_row(room, hostile.url("bad"))
    assert first.initialized_at is not None and first.last_error is None

    served["bad"].items.append(("bad-2", GSOMIA_HOSTILE))
    BREAKAGES[kind].breaks(served["bad"])
    served["atom"].items.append(("atom-2", GSOMIA_ATOM))
    room.bot.news.fetch_timeout, room.bot.news.max_body = TIMEOUT, MAX_BODY
    hits = served["bad"].hits
    await room.poll()

    assert served["bad"].hits > hits  # the broken source was asked in this poll
    # Only the healthy Atom source's story was posted, in the same poll.
    assert titles(room) == [GSOMIA_ATOM]
    bad = await source_row(room, hostile.url("bad"))
    assert bad.last_error is not None and BREAKAGES[kind].reason in bad.last_error, bad.last_error
    assert bad.consecutive_failures == 1 and bad.enabled
    assert bad.last_polled_at == room.clock.now
    assert bad.next_poll_at == room.clock.now + backoff(poll_seconds(room), 1)
    healthy = await source_row(room, hostile.url("atom"))
    assert healthy.consecutive_failures == 0 and healthy.last_error is None
    # The bot still answers.
    status = await room.ask(room.member, "status", item="gsomia")
    assert status.embeds and "GSOMIA" in str(status.embeds[0])


async def test_a_failing_source_backs_off_exponentially_and_is_not_fetched_before_due(
    room: Newsroom, hostile: Loopback
) -> None:
    served = hostile.served
    served["junk"] = Source("Junk", items=[("junk-1", "Weather in Seoul")])
    await room.add_source(hostile.url("junk"), "Junk")
    garbage(served["junk"])
    await room.poll()  # due after the normal interval: the first failure
    for failures in (1, 2, 3):
        source = await source_row(room, hostile.url("junk"))
        assert source.consecutive_failures == failures
        assert source.last_polled_at is not None and source.next_poll_at is not None
        gap = source.next_poll_at - source.last_polled_at
        assert gap == backoff(poll_seconds(room), failures)
        assert gap == timedelta(seconds=poll_seconds(room) * 2**failures)
        hits = served["junk"].hits
        await room.poll(minutes=int(gap / timedelta(minutes=1)) - 1)  # a minute early
        assert served["junk"].hits == hits
        assert (await source_row(room, hostile.url("junk"))).consecutive_failures == failures
        await room.poll(minutes=2)  # a minute late
        assert served["junk"].hits == hits + 1
    source = await source_row(room, hostile.url("junk"))
    assert source.consecutive_failures == 4 and source.enabled  # not yet disabled
    assert messages(room) == []


async def test_five_hangs_in_a_row_disable_the_source_with_one_warning(
    room: Newsroom, hostile: Loopback
) -> None:
    served = hostile.served
    served["sleepy"] = Source("Sleepy", items=[("s-1", "Weather in Seoul")])
    await room.add_source(hostile.url("sleepy"), "Sleepy")
    hang(served["sleepy"])
    room.bot.news.fetch_timeout = 0.2
    for failures in range(1, FAILURES_TO_DISABLE + 1):
        await room.poll(minutes=60 * 24)
        source = await source_row(room, hostile.url("sleepy"))
        assert source.consecutive_failures == failures
        assert source.last_error == "timed out after 0.2 s"
        assert source.enabled is (failures < FAILURES_TO_DISABLE)
    assert source.disabled_at == room.clock.now
    (warning,) = room.standin.messages(room.news)
    assert "failed 5 times in a row and has been disabled" in warning.content
    assert "Sleepy" in warning.content and "timed out after 0.2 s" in warning.content
    hits = served["sleepy"].hits
    assert hits == 1 + FAILURES_TO_DISABLE  # /source add, then one per poll
    # Disabled: not fetched again before its probe a day later (tests/test_news_hardening.py).
    for _ in range(3):
        await room.poll(minutes=60 * 7)
    assert served["sleepy"].hits == hits
    assert len(room.standin.messages(room.news)) == 1


async def test_a_source_that_recovers_is_reset_and_posts_each_new_story_once(
    room: Newsroom, hostile: Loopback
) -> None:
    served = hostile.served
    served["mirror"] = Source("Mirror", atom=True, items=[("m-1", "Weather in Seoul")])
    await room.add_source(hostile.url("mirror"), "Mirror")
    answer_500(served["mirror"])
    await room.poll()
    await room.poll(minutes=31)
    failing = await source_row(room, hostile.url("mirror"))
    assert failing.consecutive_failures == 2 and failing.last_error == "HTTP 500"
    # A story published while the source was down is not lost.
    served["mirror"].items.append(("m-2", "Tokyo and Seoul resume GSOMIA talks"))
    served["mirror"].behaviour = "feed"
    await room.poll(minutes=61)
    recovered = await source_row(room, hostile.url("mirror"))
    assert recovered.consecutive_failures == 0 and recovered.last_error is None
    assert recovered.last_success_at == room.clock.now
    assert recovered.next_poll_at == room.clock.now + timedelta(seconds=poll_seconds(room))
    assert titles(room) == ["Tokyo and Seoul resume GSOMIA talks"]
    served["mirror"].items.append(("m-3", "GSOMIA renewed for another year"))
    await room.poll()
    await room.poll()
    assert titles(room) == [
        "Tokyo and Seoul resume GSOMIA talks",
        "GSOMIA renewed for another year",
    ]


async def test_an_unchanged_atom_feed_answers_304_and_posts_nothing(
    room: Newsroom, hostile: Loopback
) -> None:
    served = hostile.served
    served["atom"] = Source("Atom Wire", atom=True, items=[("a-1", "Football results")])
    text = await room.add_source(hostile.url("atom"), "Atom Wire")
    assert "Entries in the feed now: 1, about tracked items: 0." in text
    feed = served["atom"]
    assert (feed.hits, feed.conditional_hits) == (1, 0)
    for expected in (1, 2):
        await room.poll()
        assert (feed.hits, feed.conditional_hits) == (1 + expected, expected)
    assert feed.validators_seen == {"If-None-Match", "If-Modified-Since"}
    source = await source_row(room, hostile.url("atom"))
    assert source.consecutive_failures == 0 and source.last_error is None
    assert source.next_poll_at == room.clock.now + timedelta(seconds=poll_seconds(room))
    assert messages(room) == []
    feed.items.append(("a-2", GSOMIA_ATOM))
    await room.poll()  # changed: a full answer, not a 304
    assert feed.conditional_hits == 2
    await room.poll()  # unchanged again
    assert feed.conditional_hits == 3
    assert titles(room) == [GSOMIA_ATOM]


async def test_an_entity_bomb_does_not_freeze_the_bot(room: Newsroom, hostile: Loopback) -> None:
    served = hostile.served
    served["bomb"] = Source("Bomb", items=[("b-1", "Weather in Seoul")])
    await room.add_source(hostile.url("bomb"), "Bomb")
    # Declarations on one line, and a body well under the default 2 MB cap.
    served["bomb"].items.append(("b-2", GSOMIA_HOSTILE))
    served["bomb"].behaviour = "raw"
    served["bomb"].raw = entity_bomb(served["bomb"], one_line=True, padding=150_000)
    assert len(served["bomb"].raw) < room.bot.news.max_body
    # How long the event loop (the gateway, commands, other feeds) is held up.
    async with watching_the_loop(0.01) as watch:
        await room.poll()
    assert served["bomb"].hits == 2
    assert watch.longest < 0.5, f"the event loop was blocked for {watch.longest:.1f} s"
    assert GSOMIA_HOSTILE not in " ".join(titles(room))


def _rss_now() -> int:
    """Resident memory of this process now, in bytes (Linux)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def test_entity_feeds_that_bypassed_the_old_check_stay_small_and_quick(
    room: Newsroom, hostile: Loopback
) -> None:
    """Every hidden-declaration trick, as a 1.9 MB feed, through the real poller at once.

    The old text scan let the first of these through: 150 MB of expansion per parse,
    1.8 GB of memory, and its story posted.
    """
    served = hostile.served
    room.bot.news.max_body = 2_000_000
    names = [f"trick{i}" for i in range(len(HIDDEN_PROLOGS))]
    for name in names:
        served[name] = Source(name.title(), items=[(f"{name}-1", "Weather in Seoul")])
        await room.add_source(hostile.url(name), name.title())
    for name, prolog in zip(names, HIDDEN_PROLOGS, strict=True):
        items = [(f"{name}-2", f"&lol9; {GSOMIA_HOSTILE}")]
        body = rss_body(name.title(), items, prolog=prolog, pad="x" * 1_900_000)
        served[name].behaviour, served[name].raw = "raw", body
    with earlier_objects_set_aside():
        baseline = _rss_now()
        # How long the event loop is held up, and the memory of the parses as they run.
        async with watching_the_loop(0.005, sample=_rss_now) as watch:
            await room.poll()
    assert all(served[name].hits == 2 for name in names)
    for name in names:
        source = await source_row(room, hostile.url(name))
        assert source.last_error == "refused: the feed declares XML entities", name
    assert GSOMIA_HOSTILE not in " ".join(titles(room))
    # The gap includes the 5 ms sleep: the loop itself was held up less.
    assert watch.longest < 0.1, f"the event loop was blocked for {watch.longest * 1000:.0f} ms"
    growth = max(watch.samples) - baseline
    assert growth < 100 * 2**20, f"memory grew by {growth / 2**20:.0f} MB"
