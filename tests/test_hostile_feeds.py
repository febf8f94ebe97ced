"""Hostile feeds (issue 10): a generated corpus (tests/hostile/corpus.py) read by parse_feed,
then served from loopback to the real bot's poller on each back end.

Read directly, every case must come out bounded (under 100 MB traced, seconds not minutes),
clean (no control characters, valid links, sane dates) and as the case promises (refused,
posted with exactly this title and link, or not posted). Through the real poller, every
source first serves a benign feed (a first poll posts nothing), then its hostile body: no
exception escapes, nothing is left pending, everything posted passes the stand-in's checks
and this file's own (links, lengths, control characters), everything stored is clean, the
event loop keeps running, memory stays bounded, and the bot still answers /status.
"""

from __future__ import annotations

import logging
import re
import time
import tracemalloc
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from sqlmodel import col, select

from news.clean import EARLIEST, FUTURE_SLACK, KEY_MAX, SUMMARY_MAX, TITLE_MAX, URL_MAX
from news.parse import MAX_ENTRIES, Entry, parse_feed
from news.xmlguard import decode
from storage.engine import writing
from storage.models import GuildSource, NewsEntry, NewsPost, NewsSource
from tests import test_news_e2e
from tests.hostile import corpus
from tests.hostile.corpus import Case
from tests.measuring import earlier_objects_set_aside, watching_the_loop
from tests.test_news_e2e import Newsroom

# The real bot with a news channel and a fake clock, shared with the other news tests.
room = test_news_e2e.room

NOW = datetime.now(UTC)
UNIT_ORIGIN = "https://feeds.example"
CASES = corpus.build(source=corpus.served_at(UNIT_ORIGIN), now=NOW)
MEMORY_PER_PARSE = 100 * 2**20
# Generous: a quadratic path takes minutes on the larger cases, the worst linear one ~2 s.
SECONDS_PER_PARSE = 15.0
RSS_GROWTH = 200 * 2**20
EMBED_URL_MAX = 2048

# RFC 3986 characters; anything else in a link must have been percent-encoded.
_URL_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]*")
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def test_the_corpus_is_big_and_covers_every_category() -> None:
    assert len(CASES) >= 200
    counts = {c: sum(1 for case in CASES if case.category == c) for c in get_args(corpus.Category)}
    assert all(n >= 15 for n in counts.values()), counts
    # A promise about a story the body does not carry would hold vacuously.
    vacuous = [
        case.name
        for case in CASES
        if case.outcome in ("posted", "not-posted")
        and case.parsed_body is not None
        and case.title not in visible(decode(case.parsed_body)[0])
    ]
    assert not vacuous, vacuous


# -- what a clean value looks like ----------------------------------------------------------


# Controls (Cc), surrogates (Cs), noncharacters and bidi controls: none may be stored.
_FORBIDDEN = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]")


def bad_characters(text: str) -> list[str]:
    return [f"U+{ord(c):04X}" for c in _FORBIDDEN.findall(text)]


def visible(text: str) -> str:
    return _FORBIDDEN.sub("", text)


def url_problem(url: str, limit: int = URL_MAX) -> str | None:
    if len(url) > limit:
        return f"{len(url)} characters (max {limit})"
    if not _URL_CHARACTERS.fullmatch(url):
        return "characters outside RFC 3986"
    if _LONE_PERCENT.search(url):
        return "a % that does not start an escape"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a bad port
    except ValueError as exc:
        return f"unparsable ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "not an absolute http(s) URL with a host"
    if parts.username is not None:
        return "credentials in the URL"
    return None


def text_problem(text: str, limit: int) -> str | None:
    if len(text) > limit:
        return f"{len(text)} characters (max {limit})"
    if bad := bad_characters(text):
        return f"forbidden characters {bad[:5]}"
    if text != " ".join(text.split()):
        return "whitespace not collapsed"
    return None


def published_problem(when: datetime | None, now: datetime) -> str | None:
    if when is not None and not EARLIEST <= when <= now + FUTURE_SLACK:
        return f"implausible publication time {when.isoformat()}"
    return None


def entry_problems(entry: Entry, now: datetime) -> list[str]:
    problems = [
        url_problem(entry.url) if entry.url else None,
        text_problem(entry.title, TITLE_MAX),
        text_problem(entry.summary, SUMMARY_MAX),
        None if len(entry.entry_key) <= KEY_MAX else f"key of {len(entry.entry_key)}",
        f"key {bad_characters(entry.entry_key)[:5]}" if bad_characters(entry.entry_key) else None,
        None if entry.title or not entry.url else "a link without a title",
        published_problem(entry.published, now),
    ]
    return [p for p in problems if p]


# -- each case read by parse_feed -----------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_case_parses_bounded_clean_and_as_promised(case: Case) -> None:
    body = case.parsed_body
    if body is None:  # a bomb whose decoding is the fetcher's business
        body = case.body
    source = corpus.served_at(UNIT_ORIGIN)(case.name)
    tracemalloc.start()
    try:
        started = time.perf_counter()
        feed = parse_feed(body, source_url=source, now=NOW)
        took = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < MEMORY_PER_PARSE, f"{peak / 2**20:.0f} MB traced"
    assert took < SECONDS_PER_PARSE, f"{took:.1f} s"
    assert len(feed.entries) <= MAX_ENTRIES
    for entry in feed.entries:
        assert not entry_problems(entry, NOW), (entry_problems(entry, NOW), entry)
    if case.outcome == "refused":
        assert case.problem and feed.problem and feed.problem.startswith(case.problem), feed
        assert feed.entries == ()
    if case.over_http:  # what the case promises about posting is the fetcher's part
        return
    stories = [e for e in feed.entries if e.title == case.title]
    if case.outcome == "posted":
        assert feed.problem is None, feed.problem
        assert [e.url for e in stories if e.url], [(e.title, e.url) for e in feed.entries[:3]]
        if case.url is not None:
            assert stories[0].url == case.url
        if case.published != "unset":
            assert stories[0].published == case.published
    elif case.outcome == "not-posted":
        assert not [e for e in stories if e.url], stories


# -- the corpus through the real poller -----------------------------------------------------


@dataclass
class Loopback:
    """Serves each case at /c/<name>.xml: a benign feed first, the case once ``hostile``."""

    origin: str
    cases: dict[str, Case] = field(default_factory=dict)
    hostile: bool = False
    hits: dict[str, int] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return corpus.served_at(self.origin)(name)


@pytest.fixture
async def loopback() -> AsyncIterator[Loopback]:
    served = Loopback("")

    async def feed(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        served.hits[name] = served.hits.get(name, 0) + 1
        case = served.cases[name]
        if not served.hostile:
            return web.Response(body=corpus.benign(name), content_type="application/rss+xml")
        headers = {"Content-Type": "application/rss+xml", **dict(case.headers)}
        if not case.chunked:
            return web.Response(body=case.body, headers=headers)
        response = web.StreamResponse(headers=headers)
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(case.body), 65536):
            await response.write(case.body[start : start + 65536])
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/c/{name}.xml", feed)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    served.origin = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield served
    finally:
        await runner.cleanup()


def _status_kb(field_name: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    raise LookupError(field_name)


def reset_peak_rss() -> int:
    """Start measuring the peak resident size afresh (Linux); the current size in bytes."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kb("VmRSS") * 1024


def peak_rss() -> int:
    return _status_kb("VmHWM") * 1024


async def add_sources(room: Newsroom, urls: Iterable[tuple[str, str]]) -> None:
    """Sources the room's guild follows, as /source add would leave them before its fetch."""
    async with writing(room.bot.services.sessions) as session:
        sources = [NewsSource(url=url, name=name) for url, name in urls]
        session.add_all(sources)
        await session.flush()
        for source in sources:
            assert source.id is not None
            session.add(GuildSource(guild_id=room.guild.id, source_id=source.id))
        await session.commit()


def embed_problems(message: Any) -> list[str]:
    problems = []
    if len(message.content) > 2000 or bad_characters(message.content):
        problems.append(f"content {message.content[:80]!r}")
    for embed in message.embeds:
        url = embed.get("url")
        if url is not None and (problem := url_problem(url, EMBED_URL_MAX)):
            problems.append(f"embed url {url[:80]!r}: {problem}")
        texts = [("title", embed.get("title") or "", 256)]
        texts.append(("description", embed.get("description") or "", 4096))
        for number, item in enumerate(embed.get("fields") or []):
            texts.append((f"fields[{number}].value", item.get("value") or "", 1024))
        for where, text, limit in texts:
            # A digest lists stories a line each: newlines are its own.
            if len(text) > limit or bad_characters(text.replace("\n", " ")):
                problems.append(f"embed {where} {text[:80]!r}")
    return problems


async def test_the_corpus_through_the_real_poller(
    room: Newsroom, loopback: Loopback, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    cases = corpus.build(source=loopback.url, now=NOW)
    loopback.cases = {case.name: case for case in cases}
    await add_sources(room, ((loopback.url(c.name), c.name) for c in cases))

    # First poll: every source serves a benign feed, which is recorded and not posted.
    await room.poll()
    async with room.bot.services.sessions() as session:
        sources = (await session.exec(select(NewsSource))).all()
    assert len(sources) == len(cases)
    assert all(s.initialized_at is not None and s.last_error is None for s in sources), [
        (s.name, s.last_error) for s in sources if s.last_error or s.initialized_at is None
    ]
    assert room.standin.messages(room.news) == []

    # Second poll: every source serves its hostile body; the event loop must keep beating.
    loopback.hostile = True
    with earlier_objects_set_aside():
        before = reset_peak_rss()
        async with watching_the_loop(0.01) as watch:
            await room.poll()
        growth = peak_rss() - before
    # A third poll finds nothing new: it sends whatever the second left behind.
    await room.poll()

    assert all(loopback.hits.get(c.name, 0) >= 2 for c in cases)
    errors = [
        f"{r.name}: {r.getMessage()[:200]}"
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith(("services", "news", "discordbot"))
    ]
    assert not errors, errors
    assert growth < RSS_GROWTH, f"peak RSS grew {growth / 2**20:.0f} MB"
    assert watch.longest < 0.5, f"the event loop was blocked for {watch.longest:.2f} s"

    async with room.bot.services.sessions() as session:
        sources = (await session.exec(select(NewsSource))).all()
        entries = (await session.exec(select(NewsEntry))).all()
        posts = (await session.exec(select(NewsPost).order_by(col(NewsPost.id)))).all()
    by_name = {s.name: s for s in sources}
    internal = [(s.name, s.last_error) for s in sources if "internal" in (s.last_error or "")]
    assert not internal, internal
    stuck = [(p.id, p.state) for p in posts if p.state in ("pending", "sending")]
    assert not stuck, stuck

    wall = datetime.now(UTC)
    for entry in entries:
        problems = [
            url_problem(entry.url),
            url_problem(entry.canonical_url),
            text_problem(entry.title, TITLE_MAX),
            text_problem(entry.summary or "", SUMMARY_MAX),
            None if len(entry.entry_key) <= KEY_MAX else "entry key too long",
            published_problem(entry.published_at, wall),
        ]
        assert not [p for p in problems if p], (problems, entry.entry_key[:80], entry.url[:80])

    messages = room.standin.messages(room.news)
    for message in messages:
        assert not embed_problems(message), embed_problems(message)
    shown = {str(m.embeds[0].get("title")): m for m in messages if m.embeds}
    listed = " ".join(str(m.embeds[0].get("description")) for m in messages if m.embeds)
    for case in cases:
        if case.outcome == "posted":
            assert case.title in shown, f"{case.name}: not posted ({by_name[case.name].last_error})"
            if case.url is not None:
                assert shown[case.title].embeds[0].get("url") == case.url, case.name
        elif case.outcome in ("refused", "not-posted"):
            posted = case.title and (case.title in shown or case.title in listed)
            assert not posted, f"{case.name}: posted"
        if case.outcome == "refused" and not case.over_http:
            error = by_name[case.name].last_error or ""
            assert case.problem and error.startswith(case.problem), (case.name, error)

    status = await room.ask(room.member, "status", item="gsomia")
    assert status.embeds and "GSOMIA" in str(status.embeds[0])
