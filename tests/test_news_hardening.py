"""News under hostile conditions (issue 10), through the real bot against the stand-in.

A post Discord refuses, a burst of 300 stories, a slow Discord, sources nobody follows or
that were disabled, and moderators' clicks that race, come late or cannot be carried out.
"""

# ruff: noqa: F811  (the feeds and room fixtures are imported, then named as arguments)
from __future__ import annotations

import asyncio
import hashlib
from datetime import timedelta
from typing import Any

from sqlmodel import col, select, update

from config.tracker import load_tracker
from demo.harness import running_bot
from motionwatch_standin import DiscordStandIn, Perm
from services.news import FAILURES_TO_DISABLE, MAX_POSTS_PER_POLL, PROBE_AFTER
from storage.engine import writing
from storage.models import AuditLog, NewsEntry, NewsPost, NewsSource, TimelineEvent
from tests.conftest import ROOT
from tests.test_news_e2e import Clock, Feed, Newsroom, feeds, room  # noqa: F401

STORY = "GSOMIA review begins"


def burst_title(i: int) -> str:
    # Titles far enough apart that the near-duplicate check keeps them separate stories.
    words = hashlib.sha256(str(i).encode()).hexdigest()
    return f"GSOMIA {words[:6]} {words[6:12]} {words[12:18]}"


async def posts(room: Newsroom) -> list[NewsPost]:
    async with room.bot.services.sessions() as session:
        return list((await session.exec(select(NewsPost).order_by(col(NewsPost.id)))).all())


async def source_row(room: Newsroom) -> NewsSource:
    async with room.bot.services.sessions() as session:
        found: NewsSource = (await session.exec(select(NewsSource))).one()
        return found


async def follow_wire(room: Newsroom, base: str, served: dict[str, Feed]) -> Feed:
    served["wire"] = Feed("Wire")
    await room.add_source(f"{base}/wire.xml", "Wire")
    return served["wire"]


def creates_in(standin: DiscordStandIn, channel: int) -> int:
    """Message posts the bot sent to a channel, accepted or not."""
    path = f"/channels/{channel}/messages"
    return sum(1 for r in standin.requests if r.method == "POST" and r.path == path)


# --- 1. a post Discord refuses ------------------------------------------------------------


async def test_a_refused_post_is_recorded_as_failed_and_never_sent_again(
    room: Newsroom, feeds: Any
) -> None:
    base, served = feeds
    wire = await follow_wire(room, base, served)
    room.standin.refuse_posts(room.news, 400, 50035, "Invalid Form Body")
    wire.items.append(("w1", STORY, "https://wire.example/1"))
    await room.poll()
    (refused,) = await posts(room)
    assert refused.state == "failed"
    assert refused.failure is not None and "Discord refused the post (400" in refused.failure
    tries = creates_in(room.standin, room.news)
    assert tries == 1

    room.standin.accept_posts(room.news)
    wire.items.append(("w2", "GSOMIA extended for another year", "https://wire.example/2"))
    await room.poll()
    await room.poll()
    # The refused story is not tried again; the next one goes out; the bot still answers.
    assert [m.embeds[0]["title"] for m in room.standin.messages(room.news)] == [
        "GSOMIA extended for another year"
    ]
    assert creates_in(room.standin, room.news) == tries + 1
    status = await room.ask(room.member, "status", item="gsomia")
    assert status.embeds


async def test_a_bot_restarts_cleanly_when_its_half_sent_post_is_refused(
    standin: DiscordStandIn, database_url: str, feeds: Any
) -> None:
    """A post left "sending" by a crash, whose resend Discord refuses, used to stop every start."""
    base, served = feeds
    served["wire"] = Feed("Wire")
    guild = standin.add_guild("Korea Watchers")
    news = guild.add_channel("news")
    mods = guild.add_role("Admins", Perm.MANAGE_GUILD)
    moderator, member = guild.add_member("Jun", roles=[mods]), guild.add_member("Mina")
    general = guild.channel_named("general")
    clock = Clock()
    tracker = load_tracker(ROOT / "config" / "tracker.toml").without_sources()

    async with running_bot(
        standin, database_url=database_url, tracker=tracker, clock=clock, allow_private_sources=True
    ) as first:
        setup = await standin.invoke(
            guild.id,
            general,
            moderator,
            "setup",
            options={"purpose": "news", "channel": news},
            subcommand="channel",
        )
        await setup.response()
        added = await standin.invoke(
            guild.id,
            general,
            moderator,
            "source",
            options={"url": f"{base}/wire.xml", "name": "Wire"},
            subcommand="add",
        )
        await added.wait_followups(1)
        served["wire"].items.append(("w1", STORY, "https://wire.example/1"))
        clock.now += timedelta(minutes=16)
        standin.refuse_posts(news)
        # As a crash right after the claim leaves it: stored, claimed, never confirmed.
        await first.news.poll_due()
        await first.news.drain()
        async with writing(first.services.sessions) as session:
            await session.exec(update(NewsPost).values(state="sending", failure=None))
            await session.commit()

    for _ in range(2):  # the first start settles the post; the second finds nothing to do
        async with running_bot(
            standin,
            database_url=database_url,
            tracker=tracker,
            clock=clock,
            allow_private_sources=True,
        ) as bot:
            status = await standin.invoke(
                guild.id, general, member, "status", options={"item": "gsomia"}
            )
            assert (await status.response()).embeds
            async with bot.services.sessions() as session:
                (post,) = (await session.exec(select(NewsPost))).all()
            assert post.state == "failed" and post.message_id is None
    assert creates_in(standin, news) == 2  # the refused first try and one resend, no more
    assert standin.messages(news) == []


# --- 5. a bounded number of posts, delivered beside the poll -------------------------------


async def test_a_burst_of_300_stories_makes_five_posts_and_one_digest(
    room: Newsroom, feeds: Any
) -> None:
    base, served = feeds
    wire = await follow_wire(room, base, served)
    wire.items.extend((f"b{i}", burst_title(i), f"https://wire.example/b{i}") for i in range(300))
    await room.poll()
    shown = room.standin.messages(room.news)
    assert len(shown) == MAX_POSTS_PER_POLL + 1
    stories, digest = shown[:-1], shown[-1]
    assert [m.embeds[0]["title"] for m in stories] == [
        burst_title(i) for i in range(MAX_POSTS_PER_POLL)
    ]
    assert all(m.components for m in stories) and not digest.components
    assert digest.embeds[0]["title"] == "295 more stories from Wire"
    assert burst_title(5) in digest.embeds[0]["description"]
    assert "and 280 more" in digest.embeds[0]["description"]
    states = [p.state for p in await posts(room)]
    assert len(states) == 300
    assert states.count("posted") == MAX_POSTS_PER_POLL + 1
    assert states.count("digested") == 300 - MAX_POSTS_PER_POLL - 1

    await room.poll()  # nothing new: nothing more, and none of the 300 comes back
    assert len(room.standin.messages(room.news)) == MAX_POSTS_PER_POLL + 1


async def test_a_slow_discord_does_not_hold_up_the_poll(room: Newsroom, feeds: Any) -> None:
    base, served = feeds
    wire = await follow_wire(room, base, served)
    wire.items.append(("w1", STORY, "https://wire.example/1"))
    room.standin.hold_posts(room.news)  # Discord takes the post and keeps its answer
    room.clock.now += timedelta(minutes=16)
    try:
        # The poll stores the story and returns while its post still waits on Discord.
        await asyncio.wait_for(room.bot.news.poll_due(), timeout=5)
        await room.standin.wait_for_message(room.news, timeout=5)
        assert [p.state for p in await posts(room)] == ["sending"]
    finally:
        room.standin.release_posts(room.news)
    await room.bot.news.drain()
    assert [p.state for p in await posts(room)] == ["posted"]


async def test_a_passing_discord_failure_is_retried_with_the_same_nonce(
    room: Newsroom, feeds: Any
) -> None:
    base, served = feeds
    wire = await follow_wire(room, base, served)
    room.standin.refuse_posts(room.news, 503, 0, "Service Unavailable")
    wire.items.append(("w1", STORY, "https://wire.example/1"))
    await room.poll()
    (waiting,) = await posts(room)
    assert waiting.state == "pending" and waiting.attempts == 1
    room.standin.accept_posts(room.news)
    await room.poll()
    (post,) = room.standin.messages(room.news)
    assert post.embeds[0]["title"] == STORY
    assert [p.state for p in await posts(room)] == ["posted"]


# --- 4. sources nobody follows, disabled sources ---------------------------------------------


async def test_a_source_no_guild_follows_is_not_fetched(room: Newsroom, feeds: Any) -> None:
    base, served = feeds
    wire = await follow_wire(room, base, served)
    source = await source_row(room)
    removed = await room.ask(room.moderator, "source", "remove", source_id=source.id or 0)
    assert removed.content is not None and "no longer polled" in removed.content
    hits = wire.hits
    for _ in range(3):
        await room.poll(minutes=60)
    assert wire.hits == hits


async def break_until_disabled(room: Newsroom, wire: Feed) -> None:
    wire.status = 500
    for _ in range(FAILURES_TO_DISABLE):
        await room.poll(minutes=60 * 7)
    assert (await source_row(room)).enabled is False


async def test_a_disabled_source_is_turned_back_on_by_adding_it_again(
    room: Newsroom, feeds: Any
) -> None:
    base, served = feeds
    wire = await follow_wire(room, base, served)
    await break_until_disabled(room, wire)
    listed = await room.ask(room.moderator, "source", "list")
    line = listed.embeds[0]["description"]
    assert "disabled after 5 failures in a row" in line and "next automatic try <t:" in line
    hits = wire.hits
    await room.poll(minutes=60)
    assert wire.hits == hits  # disabled: not fetched before its probe

    wire.status = 200
    wire.items.append(("w0", "GSOMIA: published while the source was off", "https://w/0"))
    reply = await room.add_source(f"{base}/wire.xml", "Wire")
    assert reply.startswith("Source #") and "answers again and is back on" in reply
    source = await source_row(room)
    assert source.enabled and source.consecutive_failures == 0
    wire.items.append(("w1", STORY, "https://wire.example/1"))
    await room.poll()
    titles = [m.embeds[0]["title"] for m in room.standin.messages(room.news) if m.embeds]
    assert titles == [STORY]  # the backlog is recorded, not posted
    async with room.bot.services.sessions() as session:
        actions = (await session.exec(select(AuditLog.action))).all()
    assert "source.enable" in actions


async def test_a_disabled_source_comes_back_by_itself_after_a_probe(
    room: Newsroom, feeds: Any
) -> None:
    base, served = feeds
    wire = await follow_wire(room, base, served)
    await break_until_disabled(room, wire)
    wire.status = 200
    wire.items.append(("w0", "GSOMIA: published while the source was off", "https://w/0"))
    hits = wire.hits
    room.clock.now += PROBE_AFTER + timedelta(minutes=1)
    await room.bot.news.poll_due()
    await room.bot.news.drain()
    assert wire.hits == hits + 1  # one probe
    assert (await source_row(room)).enabled
    wire.items.append(("w1", STORY, "https://wire.example/1"))
    await room.poll()
    titles = [m.embeds[0]["title"] for m in room.standin.messages(room.news) if m.embeds]
    assert titles == [STORY]


async def test_a_failed_probe_stays_disabled_and_quiet(room: Newsroom, feeds: Any) -> None:
    base, served = feeds
    wire = await follow_wire(room, base, served)
    await break_until_disabled(room, wire)
    warnings = len(room.standin.messages(room.news))
    room.clock.now += PROBE_AFTER + timedelta(minutes=1)
    await room.bot.news.poll_due()
    await room.bot.news.drain()
    source = await source_row(room)
    assert not source.enabled and source.consecutive_failures == FAILURES_TO_DISABLE + 1
    assert source.next_poll_at is not None
    assert source.next_poll_at - room.clock.now > PROBE_AFTER  # further off each time
    assert len(room.standin.messages(room.news)) == warnings  # warned once, at disabling


# --- 6. every click answers, once ------------------------------------------------------------


async def posted_story(room: Newsroom, feeds: Any) -> Any:
    base, served = feeds
    wire = await follow_wire(room, base, served)
    wire.items.append(("w1", STORY, "https://wire.example/1"))
    await room.poll()
    (message,) = room.standin.messages(room.news)
    return message


def button(message: Any, index: int) -> str:
    return f"news:{('add', 'drop')[index]}:{message.embeds[0]['footer']['text'].split('#')[1]}"


async def click(room: Newsroom, message: Any, custom_id: str, user: int | None = None) -> Any:
    """A click from a client that still shows the buttons (as another moderator's may)."""
    interaction = await room.standin.click(
        room.guild.id, room.news, user or room.moderator, message, custom_id, stale=True
    )
    return await interaction.response()


async def events_from_the_news(room: Newsroom) -> list[TimelineEvent]:
    async with room.bot.services.sessions() as session:
        found = await session.exec(
            select(TimelineEvent).where(col(TimelineEvent.source_name) == "Wire")
        )
        return list(found.all())


async def test_two_moderators_adding_one_story_together_add_it_once(
    room: Newsroom, feeds: Any
) -> None:
    message = await posted_story(room, feeds)
    second = room.guild.add_member("Sora", roles=list(room.guild.member(room.moderator).roles))
    add = button(message, 0)
    first_answer, second_answer = await asyncio.gather(
        click(room, message, add, room.moderator), click(room, message, add, second)
    )
    assert len(await events_from_the_news(room)) == 1
    answers = sorted([first_answer, second_answer], key=lambda a: a.type)
    told, edited = answers  # 4: an ephemeral message; 7: the post edited
    assert (told.type, edited.type) == (4, 7)
    assert told.ephemeral and told.content is not None
    assert told.content.startswith(("Already added to the timeline as #", "<@"))
    # A later click on the (now edited) post is told who did it.
    late = await click(room, message, add)
    assert late.ephemeral and late.content.startswith("Already added to the timeline as #")
    (post,) = await posts(room)
    assert post.state == "added" and post.event_id == (await events_from_the_news(room))[0].id


async def test_a_dismissed_story_tells_a_late_click_who_dismissed_it(
    room: Newsroom, feeds: Any
) -> None:
    message = await posted_story(room, feeds)
    dropped = await click(room, message, button(message, 1))
    assert dropped.type == 7
    late = await click(room, message, button(message, 0))
    assert late.ephemeral
    assert (
        late.content == f"Already marked not relevant by <@{room.moderator}>; nothing was changed."
    )
    assert await events_from_the_news(room) == []


async def test_a_stale_or_forged_button_is_answered(room: Newsroom, feeds: Any) -> None:
    message = await posted_story(room, feeds)
    for forged in ("news:add:999999", "news:add:9999999999", "news:drop:2147483648"):
        answer = await click(room, message, forged)
        assert answer.ephemeral and answer.content is not None
        assert answer.content.startswith("This message is out of date")
    assert await events_from_the_news(room) == []


async def test_a_story_that_cannot_be_added_says_why(room: Newsroom, feeds: Any) -> None:
    message = await posted_story(room, feeds)
    # A link stored before links were cleaned: the timeline refuses it as a source URL.
    async with writing(room.bot.services.sessions) as session:
        await session.exec(update(NewsEntry).values(url="https://wire.example/a b"))
        await session.commit()
    answer = await click(room, message, button(message, 0))
    assert answer.ephemeral and answer.content is not None
    assert answer.content.startswith("source_url:")
    assert await events_from_the_news(room) == []
    (post,) = await posts(room)
    assert post.state == "posted"  # open again for a moderator to dismiss
    dropped = await click(room, message, button(message, 1))
    assert dropped.type == 7
