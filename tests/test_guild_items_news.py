"""News matching of a guild's own item (SPEC §3 /track, §4): its keywords find stories for
that guild only; a configured item's stories still reach every guild."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest

from config.tracker import load_tracker
from demo.harness import running_bot
from motionwatch_standin import DiscordStandIn, Guild, Perm
from tests.conftest import ROOT
from tests.test_news_e2e import Clock, Feed, feeds

__all__ = ["feeds"]  # the fixture, used by name

NAME = "Motion to dismiss Minister Kim"


@dataclass
class Room:
    guild: Guild
    general: int
    news: int
    moderator: int


@dataclass
class Rooms:
    standin: DiscordStandIn
    bot: Any
    clock: Clock
    a: Room
    b: Room

    async def ask(self, room: Room, command: str, sub: str, options: dict[str, str]) -> Any:
        interaction = await self.standin.invoke(
            room.guild.id, room.general, room.moderator, command, options=options, subcommand=sub
        )
        return interaction


def _room(standin: DiscordStandIn, name: str) -> Room:
    guild = standin.add_guild(name)
    mods = guild.add_role("Admins", Perm.MANAGE_GUILD)
    return Room(
        guild,
        guild.channel_named("general"),
        guild.add_channel("news"),
        guild.add_member("Jun", roles=[mods]),
    )


@pytest.fixture
async def rooms(standin: DiscordStandIn, database_url: str) -> AsyncIterator[Rooms]:
    a, b = _room(standin, "Guild A"), _room(standin, "Guild B")
    clock = Clock()
    tracker = load_tracker(ROOT / "config" / "tracker.toml").without_sources()
    async with running_bot(
        standin, database_url=database_url, tracker=tracker, clock=clock, allow_private_sources=True
    ) as bot:
        r = Rooms(standin, bot, clock, a, b)
        for room in (a, b):
            set_news = await r.ask(
                room, "setup", "channel", {"purpose": "news", "channel": str(room.news)}
            )
            await set_news.response()
        yield r


async def test_a_guild_items_keywords_find_news_for_that_guild_only(
    rooms: Rooms, feeds: Any
) -> None:
    base, served = feeds
    served["wire"] = Feed("Wire", [("w1", "Weather in Seoul", f"{base}/a/1")])
    for room in (rooms.a, rooms.b):
        added = await rooms.ask(room, "source", "add", {"url": f"{base}/wire.xml", "name": "Wire"})
        await added.wait_followups(1)
    tracked = await rooms.ask(
        rooms.a, "track", "motion", {"name": NAME, "keywords": "Zorblax, 조르블락스"}
    )
    assert "now tracks" in ((await tracked.response()).content or "")

    served["wire"].items.append(("w2", "Assembly reports the Zorblax motion", f"{base}/a/2"))
    served["wire"].items.append(("w3", "조르블락스 건 본회의 보고", f"{base}/a/3"))
    served["wire"].items.append(("w4", "Seoul and Tokyo review GSOMIA", f"{base}/a/4"))
    rooms.clock.now += timedelta(minutes=16)
    await rooms.bot.news.poll_due()
    await rooms.bot.news.drain()

    def titles(room: Room) -> dict[str, str]:
        return {
            m.embeds[0]["title"]: {f["name"]: f["value"] for f in m.embeds[0]["fields"]}["Concerns"]
            for m in rooms.standin.messages(room.news)
            if m.embeds and "fields" in m.embeds[0]
        }

    assert titles(rooms.a) == {
        "Assembly reports the Zorblax motion": NAME,
        "조르블락스 건 본회의 보고": NAME,
        "Seoul and Tokyo review GSOMIA": "South Korea–Japan GSOMIA",
    }
    assert titles(rooms.b) == {"Seoul and Tokyo review GSOMIA": "South Korea–Japan GSOMIA"}
