"""News end to end (SPEC §4): feeds served on loopback, the real bot polling them, posts in
the news channel, cross-outlet dedup, the moderators' buttons, /source, failures, SSRF."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest
from aiohttp import web
from sqlmodel import select

from config.tracker import load_tracker
from demo.harness import running_bot
from motionwatch_standin import DiscordStandIn, Guild, Perm
from storage.models import NewsPost, NewsSource, TimelineEvent
from tests.conftest import ROOT

START = datetime(2026, 11, 23, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Feed:
    title: str
    items: list[tuple[str, str, str]] = field(default_factory=list)  # (guid, title, link)
    status: int = 200
    hits: int = 0
    conditional_hits: int = 0
    published: dict[str, datetime] = field(default_factory=dict)  # by guid; START otherwise

    def body(self) -> str:
        entries = "".join(
            f"<item><guid>{g}</guid><title>{t}</title><link>{link}</link>"
            f"<pubDate>{format_datetime(self.published.get(g, START))}</pubDate></item>"
            for g, t, link in self.items
        )
        return (
            f'<?xml version="1.0"?><rss version="2.0"><channel><title>{self.title}</title>'
            f"{entries}</channel></rss>"
        )


@pytest.fixture
async def feeds() -> AsyncIterator[tuple[str, dict[str, Feed]]]:
    served: dict[str, Feed] = {}

    async def handler(request: web.Request) -> web.Response:
        feed = served[request.match_info["name"]]
        feed.hits += 1
        if feed.status != 200:
            return web.Response(status=feed.status, text="down")
        etag = f'"{hash(feed.body())}"'
        if request.headers.get("If-None-Match") == etag:
            feed.conditional_hits += 1
            return web.Response(status=304)
        return web.Response(
            body=feed.body().encode(), headers={"ETag": etag}, content_type="application/rss+xml"
        )

    app = web.Application()
    app.router.add_get("/{name}.xml", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}", served
    finally:
        await runner.cleanup()


@dataclass
class Newsroom:
    standin: DiscordStandIn
    guild: Guild
    general: int
    news: int
    member: int
    moderator: int
    bot: Any
    clock: Clock

    async def ask(
        self, user: int, command: str, sub: str | None = None, /, **options: str | int
    ) -> Any:
        interaction = await self.standin.invoke(
            self.guild.id, self.general, user, command, options=options or None, subcommand=sub
        )
        return await interaction.response()

    async def add_source(self, url: str, name: str) -> str:
        """/source add, answered after a deferral: wait for its follow-up."""
        interaction = await self.standin.invoke(
            self.guild.id,
            self.general,
            self.moderator,
            "source",
            options={"url": url, "name": name},
            subcommand="add",
        )
        (reply,) = await interaction.wait_followups(1)
        return reply.content

    async def poll(self, minutes: int = 16) -> None:
        self.clock.now += timedelta(minutes=minutes)
        await self.bot.news.poll_due()
        await self.bot.news.drain()


@pytest.fixture
async def room(standin: DiscordStandIn, database_url: str) -> AsyncIterator[Newsroom]:
    guild = standin.add_guild("Korea Watchers")
    news = guild.add_channel("news")
    mods = guild.add_role("Admins", Perm.MANAGE_GUILD)
    member, moderator = guild.add_member("Mina"), guild.add_member("Jun", roles=[mods])
    clock = Clock()
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    # Only the feeds of this test: the configured outlets are not reachable from here.
    tracker = type(tracker)(
        tracker.path,
        tuple(
            type(i)(**{**{f: getattr(i, f) for f in i.__dataclass_fields__}, "sources": ()})
            for i in tracker.items
        ),
    )
    async with running_bot(
        standin, database_url=database_url, tracker=tracker, clock=clock, allow_private_sources=True
    ) as bot:
        r = Newsroom(
            standin, guild, guild.channel_named("general"), news, member, moderator, bot, clock
        )
        await r.ask(moderator, "setup", "channel", purpose="news", channel=news)
        yield r


async def test_a_new_story_is_posted_once_with_buttons(room: Newsroom, feeds: Any) -> None:
    base, served = feeds
    served["wire"] = Feed("Wire", [("w1", "Weather in Seoul", f"{base}/a/1")])
    text = await room.add_source(f"{base}/wire.xml", "Wire")
    assert "Entries in the feed now: 1, about tracked items: 0." in text
    await room.poll()
    assert room.standin.messages(room.news) == []  # nothing new since the first fetch
    served["wire"].items.append(("w2", "Seoul and Tokyo review GSOMIA", f"{base}/a/2?utm_source=x"))
    served["wire"].items.append(("w3", "Football results", f"{base}/a/3"))
    await room.poll()
    (post,) = room.standin.messages(room.news)
    (embed,) = post.embeds
    assert embed["title"] == "Seoul and Tokyo review GSOMIA"
    assert embed["url"] == f"{base}/a/2?utm_source=x"
    fields = {f["name"]: f["value"] for f in embed["fields"]}
    assert fields["Outlets"] == "Wire" and fields["Concerns"] == "South Korea–Japan GSOMIA"
    assert [c["label"] for row in post.components for c in row["components"]] == [
        "Add to timeline",
        "Not relevant",
    ]
    await room.poll()
    assert len(room.standin.messages(room.news)) == 1
    assert served["wire"].conditional_hits >= 1  # the unchanged feed answered 304


async def test_the_same_story_from_another_outlet_edits_the_first_post(
    room: Newsroom, feeds: Any
) -> None:
    base, served = feeds
    served["one"] = Feed("One")
    served["two"] = Feed("Two")
    for name in ("one", "two"):
        await room.add_source(f"{base}/{name}.xml", name.title())
    served["one"].items.append(
        ("1", "S. Korea, Japan agree to keep GSOMIA", "https://one.example/x")
    )
    await room.poll()
    served["two"].items.append(
        ("2", "S. Korea, Japan agree to keep GSOMIA - Two", "https://two.example/y")
    )
    await room.poll()
    (post,) = room.standin.messages(room.news)
    assert {f["name"]: f["value"] for f in post.embeds[0]["fields"]}["Outlets"] == "One, Two"
    assert post.edited


async def test_two_outlets_polled_together_make_one_post(room: Newsroom, feeds: Any) -> None:
    base, served = feeds
    names = ["one", "two", "three"]
    for name in names:
        served[name] = Feed(name.title())
        await room.add_source(f"{base}/{name}.xml", name.title())
    # A year on (the window is measured on the bot's clock), the same story in three
    # feeds at once: their polls run side by side.
    room.clock.now += timedelta(days=365)
    for n, name in enumerate(names):
        served[name].items.append(
            (f"{name}-1", "Seoul, Tokyo to keep GSOMIA", f"https://{name}.example/{n}")
        )
    await room.poll()
    (post,) = room.standin.messages(room.news)
    outlets = {f["name"]: f["value"] for f in post.embeds[0]["fields"]}["Outlets"]
    assert sorted(outlets.split(", ")) == ["One", "Three", "Two"]


async def test_moderators_only_buttons_add_to_the_timeline(room: Newsroom, feeds: Any) -> None:
    base, served = feeds
    served["wire"] = Feed("Wire")
    await room.add_source(f"{base}/wire.xml", "Wire")
    served["wire"].items.append(
        ("w9", "Han Min-koo dismissal motion filed", "https://wire.example/9")
    )
    await room.poll()
    (post,) = room.standin.messages(room.news)
    add_id = post.components[0]["components"][0]["custom_id"]
    refused = await (
        await room.standin.click(room.guild.id, room.news, room.member, post, add_id)
    ).response()
    assert (
        refused.ephemeral
        and refused.content is not None
        and refused.content.startswith("Only moderators")
    )
    done = await (
        await room.standin.click(room.guild.id, room.news, room.moderator, post, add_id)
    ).response()
    assert done.type == 7
    assert post.content.startswith("Added to the timeline as #") and not post.components
    async with room.bot.services.sessions() as session:
        event = (
            await session.exec(
                select(TimelineEvent).where(TimelineEvent.source_url == "https://wire.example/9")
            )
        ).one()
        stored = (await session.exec(select(NewsPost))).one()
    assert event.source_name == "Wire" and event.recorded_by == room.moderator
    assert stored.state == "added"


async def test_a_story_already_added_is_not_posted_again_by_another_outlet(
    room: Newsroom, feeds: Any
) -> None:
    base, served = feeds
    served["one"], served["two"] = Feed("One"), Feed("Two")
    for name in ("one", "two"):
        await room.add_source(f"{base}/{name}.xml", name.title())
    served["one"].items.append(("1", "GSOMIA kept for another year", "https://one.example/k"))
    await room.poll()
    (post,) = room.standin.messages(room.news)
    add_id = post.components[0]["components"][0]["custom_id"]
    await (
        await room.standin.click(room.guild.id, room.news, room.moderator, post, add_id)
    ).response()
    served["two"].items.append(("2", "GSOMIA kept for another year", "https://two.example/k"))
    await room.poll()
    (post,) = room.standin.messages(room.news)
    assert post.content.startswith("Added to the timeline as #")  # the note stays
    assert {f["name"]: f["value"] for f in post.embeds[0]["fields"]}["Outlets"] == "One, Two"


async def test_a_story_re_dated_or_re_keyed_by_its_site_is_not_posted_again(
    room: Newsroom, feeds: Any
) -> None:
    base, served = feeds
    served["wire"] = Feed("Wire")
    await room.add_source(f"{base}/wire.xml", "Wire")
    served["wire"].items.append(("w1", "GSOMIA talks resume", "https://wire.example/a/1"))
    await room.poll()
    assert len(room.standin.messages(room.news)) == 1
    # The site moves the story to the top with a new date, then re-issues it under a new
    # id with a tracking parameter on the same address.
    served["wire"].published["w1"] = START + timedelta(hours=3)
    await room.poll()
    served["wire"].items[0] = (
        "w1-v2",
        "GSOMIA talks resume",
        "https://wire.example/a/1?utm_source=rss",
    )
    await room.poll()
    assert len(room.standin.messages(room.news)) == 1


async def test_a_failing_source_backs_off_then_is_disabled_with_a_warning(
    room: Newsroom, feeds: Any
) -> None:
    base, served = feeds
    served["flaky"] = Feed("Flaky")
    await room.add_source(f"{base}/flaky.xml", "Flaky")
    served["flaky"].status = 500
    hits = served["flaky"].hits
    for _ in range(5):
        await room.poll(minutes=60 * 24)
    async with room.bot.services.sessions() as session:
        source = (await session.exec(select(NewsSource))).one()
    assert served["flaky"].hits - hits == 5
    assert source.enabled is False and source.last_error == "HTTP 500"
    (warning,) = room.standin.messages(room.news)
    assert "failed 5 times in a row and has been disabled" in warning.content
    listed = await room.ask(room.moderator, "source", "list")
    assert "disabled" in listed.embeds[0]["description"]


async def test_a_private_address_is_refused(standin: DiscordStandIn, database_url: str) -> None:
    guild = standin.add_guild("G")
    mods = guild.add_role("Admins", Perm.MANAGE_GUILD)
    moderator = guild.add_member("Jun", roles=[mods])
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    async with running_bot(standin, database_url=database_url, tracker=tracker):
        interaction = await standin.invoke(
            guild.id,
            guild.channel_named("general"),
            moderator,
            "source",
            options={"url": "http://127.0.0.1:9/feed.xml"},
            subcommand="add",
        )
        await interaction.response()
        (reply,) = await interaction.wait_followups(1)
    assert reply.content.startswith("url: http://127.0.0.1:9/feed.xml could not be read as a feed")
    assert "loopback" in reply.content


async def test_the_buttons_work_after_a_restart(
    standin: DiscordStandIn,
    database_url: str,
    feeds: Any,
) -> None:
    base, served = feeds
    served["wire"] = Feed("Wire")
    guild = standin.add_guild("Korea Watchers")
    news = guild.add_channel("news")
    mods = guild.add_role("Admins", Perm.MANAGE_GUILD)
    moderator = guild.add_member("Jun", roles=[mods])
    general = guild.channel_named("general")
    clock = Clock()
    tracker = load_tracker(ROOT / "config" / "tracker.toml").without_sources()

    async def invoke(sub: str, command: str = "setup", **options: str | int) -> Any:
        return await standin.invoke(
            guild.id, general, moderator, command, options=options, subcommand=sub
        )

    async with running_bot(
        standin, database_url=database_url, tracker=tracker, clock=clock, allow_private_sources=True
    ) as first:
        await (await invoke("channel", purpose="news", channel=news)).response()
        added = await invoke("add", "source", url=f"{base}/wire.xml", name="Wire")
        await added.wait_followups(1)
        served["wire"].items.append(("w1", "GSOMIA review begins", "https://wire.example/1"))
        clock.now += timedelta(minutes=16)
        await first.news.poll_due()
        await first.news.drain()
    (post,) = standin.messages(news)
    async with running_bot(
        standin, database_url=database_url, tracker=tracker, clock=clock, allow_private_sources=True
    ):
        drop_id = post.components[0]["components"][1]["custom_id"]
        done = await (await standin.click(guild.id, news, moderator, post, drop_id)).response()
    assert done.type == 7  # the post itself was updated
    assert post.content.startswith("Marked not relevant") and not post.components
