"""Announcements (issue 12): recorded with the change, posted once across crashes and downtime.

The change and its announcement commit together; the announcement is posted from the
store: by the change's follow-up, by the periodic delivery, or at the next start. One a
crash left half-sent is looked for in its channel first (its footer names it), so a
restart after Discord forgot the nonce still posts it once; a channel that is gone drops
it with the reason.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import col, select

from config.settings import Settings
from config.shards import Shards
from config.tracker import load_tracker
from demo.harness import running_bot
from motionwatch_standin import DiscordStandIn, Guild, MessageRecord, Perm
from render.announce import render_change
from runtime.startup import prepare_database
from services.announcements import Announcements, Outgoing
from services.build import build_services
from services.context import Services
from services.moderation import add_update, edit_update, remove_update
from services.news import Delivery, Refused, Retry, Sent
from storage.engine import create_engine, session_factory, writing
from storage.models import Announcement, GuildSettings
from storage.queries import announcements as store
from tests.conftest import ROOT
from tests.test_cli import standin_env
from tests.test_news_crash import _until
from tracker.lookup import resolve_item
from tracker.model import EventFact, Precision
from views.changes import Change, UnreadablePayload, from_payload, to_payload
from views.events import EventView

TRACKER = load_tracker(ROOT / "config" / "tracker.toml")
GSOMIA = resolve_item(TRACKER.items, "gsomia")
assert GSOMIA is not None
NOW = datetime(2026, 11, 23, 0, 30, tzinfo=UTC)
NOTICE = "2026-11-23 08:30"  # a termination notice: GSOMIA's deadlines move


def _embed(reply: Any) -> dict[str, Any]:
    (embed,) = reply.embeds
    return dict(embed)


# -- the stored change --------------------------------------------------------------------------


def _changes() -> list[Change]:
    """An add that moves, adds and ends deadlines; an edit; a removal with its reason."""
    assert GSOMIA is not None
    seed = [
        EventFact(e.occurred_at, e.stage, e.precision, order=n) for n, e in enumerate(GSOMIA.seed)
    ]
    notice = EventFact(datetime(2026, 11, 22, 23, 30, tzinfo=UTC), "termination_notified")
    before, after = GSOMIA.assess(seed, NOW), GSOMIA.assess([*seed, notice], NOW)
    event = EventView(
        id=41,
        occurred_at=notice.occurred_at,
        precision=str(Precision.DATETIME),
        summary_en="Seoul notifies Tokyo <@&1> **in writing**.",
        stage="termination_notified",
        source_name="Example Wire",
        source_url="https://example.org/notice",
        recorded_by=7,
    )
    removed = replace(event, delete_reason="posted by mistake")
    return [
        Change("added", GSOMIA, event, 7, before, after),
        Change("edited", GSOMIA, event, 8, before, after, changed_fields=("summary", "when")),
        Change("removed", GSOMIA, removed, 9, after, before),
    ]


@pytest.mark.parametrize("language", ["en", "ko"])
def test_a_stored_change_renders_as_the_change_itself(language: str) -> None:
    for change in _changes():
        assert change.moved or change.appeared or change.gone  # a change worth reading
        stored = json.loads(json.dumps(to_payload(change)))  # what the JSON column keeps
        again = from_payload(stored, TRACKER.items)
        assert render_change(language, again) == render_change(language, change)
        assert again.stage_change == change.stage_change


def test_a_stored_change_of_an_item_no_longer_tracked_cannot_be_read() -> None:
    payload = to_payload(_changes()[0])
    with pytest.raises(UnreadablePayload, match="no longer tracked"):
        from_payload({**payload, "item": "gone-item"}, TRACKER.items)
    with pytest.raises(UnreadablePayload):
        from_payload({**payload, "event": {"id": 1}}, TRACKER.items)
    with pytest.raises(UnreadablePayload):
        from_payload({**payload, "v": 99}, TRACKER.items)


# -- the delivery service, with a stand-in Discord edge -------------------------------------------

FIRST_GUILD = 10 << 22  # shard 0 of 2; FIRST_GUILD + (1 << 22) is on shard 1


class Edge:
    """The Discord edge as the service sees it: what was sent, and what it answers."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.answers: list[Delivery] = []

    async def send(self, out: Outgoing) -> Delivery:
        assert out.change is not None and out.nonce == f"announce{out.id}"
        await asyncio.sleep(0)  # another delivery may run meanwhile
        self.sent.append(out.id)
        return self.answers.pop(0) if self.answers else Sent(1000 + out.id)


@pytest.fixture
async def services(database_url: str) -> AsyncIterator[Services]:
    engine = create_engine(database_url)
    prepared = await prepare_database(engine, session_factory(engine), items=TRACKER.items)
    async with httpx.AsyncClient() as http:
        yield build_services(
            Settings(_env_file=None, database_url=database_url),
            TRACKER,
            http=http,
            engine=engine,
            clock=lambda: NOW,
            item_ids=prepared.item_ids,
        )
    await engine.dispose()


async def _settings(services: Services, guild_id: int, updates: int | None) -> None:
    async with writing(services.sessions) as session:
        session.add(GuildSettings(guild_id=guild_id, updates_channel_id=updates))
        await session.commit()


async def _add(services: Services, guild_id: int, summary: str = "A note") -> Change:
    assert GSOMIA is not None
    return await add_update(
        services,
        guild_id=guild_id,
        actor_id=7,
        item=GSOMIA,
        summary=summary,
        stage=None,
        when=None,
        source_url=None,
        source_name=None,
        now=NOW,
    )


async def _rows(services: Services) -> list[Announcement]:
    async with services.sessions() as session:
        rows = (await session.exec(select(Announcement).order_by(col(Announcement.id)))).all()
    return list(rows)


async def test_the_announcement_is_recorded_with_the_change_only_where_it_is_announced(
    services: Services,
) -> None:
    announced, quiet, unset = FIRST_GUILD, FIRST_GUILD + 1, FIRST_GUILD + 2
    await _settings(services, announced, updates=555)
    await _settings(services, quiet, updates=None)
    added = await _add(services, announced)
    edited = await edit_update(
        services,
        guild_id=announced,
        actor_id=8,
        event_id=added.event.id,
        summary="A better note",
        stage=None,
        when=None,
        source_url=None,
        now=NOW,
    )
    removed = await remove_update(
        services, guild_id=announced, actor_id=9, event_id=added.event.id, reason="dup", now=NOW
    )
    assert (await _add(services, quiet)).announcement_id is None
    assert (await _add(services, unset)).announcement_id is None
    rows = await _rows(services)
    assert [r.id for r in rows] == [
        added.announcement_id,
        edited.announcement_id,
        removed.announcement_id,
    ]
    assert [(r.guild_id, r.channel_id, r.event_id, r.state) for r in rows] == [
        (announced, 555, added.event.id, "pending")
    ] * 3
    assert [r.action for r in rows] == ["added", "edited", "removed"]
    assert rows[0].created_at == NOW
    # What is stored renders as the change the moderator was shown.
    for row, change in zip(rows, (added, edited, removed), strict=True):
        assert render_change("en", from_payload(row.payload, TRACKER.items)) == render_change(
            "en", change
        )


async def test_two_deliveries_racing_post_each_announcement_once(services: Services) -> None:
    guilds = [FIRST_GUILD + n for n in range(3)]
    for g in guilds:
        await _settings(services, g, updates=g + 1)
        for n in range(3):
            await _add(services, g, f"Note {n}")
    edge = Edge()
    one, two = (Announcements(services, send=edge.send) for _ in range(2))
    counts = await asyncio.gather(one.deliver(), two.deliver(), one.deliver(guild_id=guilds[0]))
    rows = await _rows(services)
    assert sum(counts) == len(rows) == 9
    assert sorted(edge.sent) == [r.id for r in rows]
    assert {(r.state, r.message_id) for r in rows} == {("posted", 1000 + (r.id or 0)) for r in rows}
    # Each guild's went out in the order they were made.
    for g in guilds:
        mine = [r.id for r in rows if r.guild_id == g]
        assert [i for i in edge.sent if i in mine] == mine
    assert await one.deliver(after_crash=True) == 0 and len(edge.sent) == 9


async def test_refused_is_dropped_and_a_passing_failure_is_sent_again(services: Services) -> None:
    await _settings(services, FIRST_GUILD, updates=1)
    first = await _add(services, FIRST_GUILD, "one")
    second = await _add(services, FIRST_GUILD, "two")
    edge = Edge()
    edge.answers = [Refused("Discord refused the announcement (400: bad)"), Retry("503")]
    announcements = Announcements(services, send=edge.send)
    assert await announcements.deliver() == 0
    dropped, waiting = await _rows(services)
    assert (dropped.state, dropped.reason) == (
        "dropped",
        "Discord refused the announcement (400: bad)",
    )
    assert (waiting.state, waiting.attempts, waiting.reason) == ("pending", 1, "503")
    assert await announcements.deliver() == 1  # the next round
    _, posted = await _rows(services)
    assert (posted.id, posted.state, posted.message_id) == (
        second.announcement_id,
        "posted",
        1000 + (posted.id or 0),
    )
    assert edge.sent == [first.announcement_id, second.announcement_id, second.announcement_id]
    async with services.sessions() as session:
        counted = await store.counts(session, guild_id=FIRST_GUILD)
    assert counted == {"posted": 1, "dropped": 1, "waiting": 0}


async def test_each_process_posts_only_its_own_shards_announcements(services: Services) -> None:
    mine, theirs = FIRST_GUILD, FIRST_GUILD + (1 << 22)
    for g in (mine, theirs):
        await _settings(services, g, updates=g + 1)
        await _add(services, g)
    edge = Edge()
    shard0 = Announcements(services, send=edge.send, shards=Shards(2, frozenset({0})))
    assert await shard0.deliver(after_crash=True) == 1
    assert {r.guild_id: r.state for r in await _rows(services)} == {
        mine: "posted",
        theirs: "pending",
    }


async def test_a_half_sent_announcement_is_looked_for_before_it_is_sent_again(
    services: Services,
) -> None:
    """Left "sending": found in the channel, recorded; not found, sent; unknown, left."""
    await _settings(services, FIRST_GUILD, updates=1)
    ids = [(await _add(services, FIRST_GUILD, s)).announcement_id for s in ("a", "b", "c")]
    async with writing(services.sessions) as session:
        for announcement_id in ids:
            assert announcement_id is not None
            assert await store.claim(session, announcement_id=announcement_id, now=NOW)
        await session.commit()
    looked: list[int] = []

    async def find(out: Outgoing) -> int | None:
        looked.append(out.id)
        assert out.since == NOW
        if out.id == ids[2]:
            raise RuntimeError("Discord answered 500 reading the channel")
        return 77 if out.id == ids[0] else None

    edge = Edge()
    announcements = Announcements(services, send=edge.send, find=find)
    # A periodic round leaves a recent claim alone: its process may be sending it now.
    assert await announcements.deliver() == 0 and looked == []
    assert await announcements.deliver(after_crash=True) == 2
    assert looked == ids and edge.sent == [ids[1]]
    rows = await _rows(services)
    assert [(r.state, r.message_id) for r in rows] == [
        ("posted", 77),
        ("posted", 1000 + (ids[1] or 0)),
        ("sending", None),  # could not tell: looked for again later, never sent blindly
    ]
    # Later, a periodic round takes the stale claim up again.
    services.clock = lambda: NOW + timedelta(minutes=5)
    looked.clear()
    assert await announcements.deliver() == 0 and looked == [ids[2]]


# -- the real bot against the stand-in ------------------------------------------------------------


async def _ask(
    standin: DiscordStandIn, guild: Guild, user: int, name: str, sub: str, **options: Any
) -> str:
    interaction = await standin.invoke(
        guild.id, guild.channel_named("general"), user, name, options=options, subcommand=sub
    )
    return (await interaction.response(timeout=15)).content or ""


def _a_guild(standin: DiscordStandIn) -> tuple[Guild, int, int]:
    guild = standin.add_guild("Korea Watchers")
    updates = guild.add_channel("updates")
    admin = guild.add_member("Seo", roles=[guild.add_role("Admins", Perm.MANAGE_GUILD)])
    return guild, updates, admin


async def _row(database_url: str, announcement_id: int) -> Announcement:
    engine = create_engine(database_url)
    try:
        async with session_factory(engine)() as session:
            row = await session.get(Announcement, announcement_id)
    finally:
        await engine.dispose()
    assert row is not None
    return row


async def test_a_change_whose_process_stopped_before_announcing_it_is_announced_at_start(
    standin: DiscordStandIn, database_url: str
) -> None:
    guild, updates, admin = _a_guild(standin)
    async with running_bot(standin, database_url=database_url, tracker=TRACKER) as bot:
        await _ask(standin, guild, admin, "setup", "channel", purpose="updates", channel=updates)
        assert GSOMIA is not None
        # The change commits; its follow-up never runs (the process stops first).
        change = await add_update(
            bot.services,
            guild_id=guild.id,
            actor_id=admin,
            item=GSOMIA,
            summary="Seoul notifies Tokyo in writing.",
            stage="termination_notified",
            when=NOTICE,
            source_url=None,
            source_name=None,
            now=bot.now(),
        )
    assert change.announcement_id is not None
    assert standin.messages(updates) == []
    assert (await _row(database_url, change.announcement_id)).state == "pending"

    async with running_bot(standin, database_url=database_url, tracker=TRACKER) as bot:
        # Posted by the start itself, before the bot connected.
        (message,) = standin.messages(updates)
        assert await bot.announcements.deliver(after_crash=True) == 0
    async with running_bot(standin, database_url=database_url, tracker=TRACKER):
        pass
    assert standin.messages(updates) == [message]
    row = await _row(database_url, change.announcement_id)
    assert (row.state, row.message_id) == ("posted", message.id)
    expected = _embed(render_change("en", change, announcement_id=change.announcement_id))
    shown = message.embeds[0]
    for key in ("title", "description", "fields", "footer"):
        assert shown[key] == expected[key], key
    assert shown["footer"] == {"text": f"Announcement {change.announcement_id}"}


async def test_an_announcement_whose_channel_was_deleted_is_dropped_with_the_reason(
    standin: DiscordStandIn, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    guild, updates, admin = _a_guild(standin)
    async with running_bot(standin, database_url=database_url, tracker=TRACKER) as bot:
        await _ask(standin, guild, admin, "setup", "channel", purpose="updates", channel=updates)
        # One announcement left half-sent by a crash while the channel still stood.
        assert GSOMIA is not None
        leftover = await add_update(
            bot.services,
            guild_id=guild.id,
            actor_id=admin,
            item=GSOMIA,
            summary="Half sent",
            stage=None,
            when=None,
            source_url=None,
            source_name=None,
            now=bot.now(),
        )
        assert leftover.announcement_id is not None
        async with writing(bot.services.sessions) as session:
            await store.claim(session, announcement_id=leftover.announcement_id, now=bot.now())
            await session.commit()
        guild.delete_channel(updates)

        # A moderator's change after that: answered as usual, its announcement dropped.
        reply = await _ask(standin, guild, admin, "update", "add", item="gsomia", summary="Later")
        assert reply.startswith("Recorded as #") and "Not announced" not in reply
        await bot.after.drain()
        assert await bot.announcements.deliver(after_crash=True) == 0
        async with bot.services.sessions() as session:
            rows = (await session.exec(select(Announcement).order_by(col(Announcement.id)))).all()
        # /about tells the server what became of its announcements.
        interaction = await standin.invoke(guild.id, guild.channel_named("general"), admin, "about")
        fields = {f["name"]: f["value"] for f in (await interaction.response()).embeds[0]["fields"]}
    assert [(r.state, r.message_id) for r in rows] == [("dropped", None), ("dropped", None)]
    assert rows[0].reason == (
        "the updates channel is gone or closed to the bot (NotFound reading channel history)"
    )
    assert rows[1].reason == "the updates channel is gone or closed to the bot (404)"
    assert fields["Announcements in this server"] == (
        "0 posted · 0 waiting · not posted: 2 (updates channel gone, or Discord refused them)"
    )
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


@pytest.mark.parametrize("nonce_window", [300.0, 1.0], ids=["inside", "after"])
async def test_a_bot_killed_after_discord_took_the_announcement_posts_it_once(
    standin: DiscordStandIn, database_url: str, tmp_path: Path, nonce_window: float
) -> None:
    """SIGKILL after Discord created the announcement and before the bot recorded it; the
    restart comes inside Discord's nonce window, or after it (when a resend with the same
    nonce would post again): either way exactly one message, found and recorded."""
    standin.set_nonce_window(nonce_window)
    guild, updates, admin = _a_guild(standin)
    env = standin_env(standin, database_url)

    async def start() -> asyncio.subprocess.Process:
        # The log goes to a file (a pipe nobody reads would block it); pytest keeps tmp_path.
        with (tmp_path / "bot.log").open("ab") as log:
            return await asyncio.create_subprocess_exec(
                sys.executable,
                str(ROOT / "bot.py"),
                cwd=ROOT,
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )

    async def row_in(state: str) -> Announcement | None:
        engine = create_engine(database_url)
        try:
            async with session_factory(engine)() as session:
                rows = (await session.exec(select(Announcement))).all()
        finally:
            await engine.dispose()
        return rows[0] if len(rows) == 1 and rows[0].state == state else None

    def announcing(message: MessageRecord) -> bool:
        return bool(message.embeds) and message.embeds[0]["title"].endswith("new update")

    first = await start()
    try:
        await standin.wait_until_connected(timeout=30)
        await _ask(standin, guild, admin, "setup", "channel", purpose="updates", channel=updates)
        standin.hold_posts(updates)  # Discord creates the message; the bot never hears back
        reply = await _ask(
            standin, guild, admin, "update", "add", item="gsomia", summary="Seoul notifies Tokyo"
        )
        assert reply.startswith("Recorded as #")
        await standin.wait_for_message(updates, announcing, timeout=30)
        claimed = await _until(lambda: row_in("sending"), "the announcement to be claimed")
    finally:
        first.send_signal(signal.SIGKILL)
        await first.wait()
        standin.release_posts(updates)
        killed = time.monotonic()
    if nonce_window < 60:
        # Down for longer than Discord remembers the nonce.
        await asyncio.sleep(max(0.0, nonce_window + 0.1 - (time.monotonic() - killed)))

    identified = standin.identify_count
    second = await start()
    try:
        posted = await _until(lambda: row_in("posted"), "the announcement recorded as posted")
        # Stopped once it runs: a stop during its start-up would wait on the start instead.
        await standin.wait_for_identifies(identified + 1, timeout=30)
    finally:
        second.send_signal(signal.SIGTERM)
        await asyncio.wait_for(second.wait(), timeout=30)
    assert second.returncode == 0
    (message,) = standin.messages(updates)
    assert posted.id == claimed.id and posted.message_id == message.id
    assert message.embeds[0]["footer"]["text"] == f"Announcement {posted.id}"
