"""A guild's own items (SPEC §3 /track): seen, reminded and exported only in that guild;
/track stop hides one, audited; the web pages never show one."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from config.tracker import load_tracker
from demo.harness import running_bot
from discordbot.bot import MotionwatchBot
from motionwatch_standin import CallbackRecord, DiscordStandIn, Guild, MessageRecord, Perm
from services.items import items_for, linked_items
from services.track import track_motion
from storage.models import AuditLog, Item, PlannedDeadline
from tests.conftest import ROOT
from tests.websupport import Site, site

__all__ = ["site"]  # the fixture, used by name

KST = ZoneInfo("Asia/Seoul")
REPORTED = datetime(2027, 3, 2, 14, tzinfo=KST)
NAME = "Motion to dismiss Minister Kim"
NAME_KO = "김 장관 해임건의안"


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Side:
    guild: Guild
    general: int
    reminders: int
    moderator: int
    member: int


@dataclass
class Two:
    standin: DiscordStandIn
    bot: MotionwatchBot
    clock: Clock
    a: Side
    b: Side

    async def ask(
        self,
        side: Side,
        command: str,
        sub: str | None = None,
        /,
        *,
        user: int | None = None,
        **options: str,
    ) -> CallbackRecord:
        return await self.run(side, command, sub, options, user=user)

    async def run(
        self,
        side: Side,
        command: str,
        sub: str | None,
        options: dict[str, str],
        *,
        user: int | None = None,
    ) -> CallbackRecord:
        interaction = await self.standin.invoke(
            side.guild.id,
            side.general,
            user or side.moderator,
            command,
            options=dict(options) or None,
            subcommand=sub,
        )
        return await interaction.response()

    async def choices(self, side: Side, command: str, value: str = "") -> list[str]:
        found = await self.standin.autocomplete(
            side.guild.id, side.general, side.member, command, focused="item", value=value
        )
        return [str(c.value) for c in found]


def _side(standin: DiscordStandIn, name: str) -> Side:
    guild = standin.add_guild(name)
    mods = guild.add_role("Mods", Perm.MANAGE_GUILD)
    return Side(
        guild,
        guild.channel_named("general"),
        guild.add_channel("reminders"),
        guild.add_member("Jun", roles=[mods]),
        guild.add_member("Mina"),
    )


@pytest.fixture
async def two(standin: DiscordStandIn, database_url: str) -> AsyncIterator[Two]:
    a, b = _side(standin, "Guild A"), _side(standin, "Guild B")
    clock = Clock(REPORTED - timedelta(days=2))
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    async with running_bot(standin, database_url=database_url, tracker=tracker, clock=clock) as bot:
        yield Two(standin, bot, clock, a, b)


def _text(reply: CallbackRecord) -> str:
    parts = [reply.content or ""]
    for embed in reply.embeds:
        parts += [embed.get("title", ""), embed.get("description", "")]
        parts += [f"{f['name']} {f['value']}" for f in embed.get("fields", [])]
    return "\n".join(parts)


async def _track(two: Two) -> str:
    reply = await two.ask(
        two.a, "track", "motion", name=NAME, name_ko=NAME_KO, bill_no="2212345", keywords="Kim"
    )
    assert reply.ephemeral, reply.content
    async with two.bot.services.sessions() as session:
        (row,) = (await session.exec(select(Item).where(Item.guild_id == two.a.guild.id))).all()
    assert reply.content == (
        f"This server now tracks **{NAME}** (key `{row.key}`). "
        "Record its stages with /update add; only this server sees it."
    )
    assert row.key.startswith("motion-to-dismiss") and "_" in row.key
    assert (row.bill_no, row.keywords, row.name_ko) == ("2212345", ["Kim"], NAME_KO)
    (linked,) = await linked_items(two.bot.services, ["2212345", "1"])
    assert (linked.spec.key, linked.guild_id) == (row.key, two.a.guild.id)
    assert (await items_for(two.bot.services, two.a.guild.id)).by_bill_no("2212345") == linked.spec
    assert (await items_for(two.bot.services, two.b.guild.id)).by_bill_no("2212345") is None
    return row.key


async def test_a_guild_item_is_seen_only_in_its_guild_in_every_command(two: Two) -> None:
    key = await _track(two)
    a, b = two.a, two.b

    # Autocomplete, on every command that takes an item.
    for command in ("status", "timeline", "deadlines", "export"):
        assert key in await two.choices(a, command, "kim")
        assert await two.choices(b, command, "kim") == []
        assert key not in await two.choices(b, command)

    # /status with no item: all of the guild's items.
    assert NAME in _text(await two.ask(a, "status", user=a.member))
    assert NAME not in _text(await two.ask(b, "status", user=b.member))

    # A stage recorded in A; B cannot name the item anywhere.
    added = await two.ask(
        a, "update", "add", item=key, summary="Reported", stage="submitted", when="2027-03-01"
    )
    assert (added.content or "").startswith("Recorded"), added.content
    for name, sub, options in [
        ("status", None, {"item": key}),
        ("timeline", None, {"item": key}),
        ("deadlines", None, {"item": key}),
        ("export", None, {"format": "json", "item": key}),
        ("update", "add", {"item": key, "summary": "x"}),
        ("deadline", "add", {"item": key, "title": "x", "when": "2027-04-01"}),
        ("track", "stop", {"item": key}),
    ]:
        refused = await two.run(b, name, sub, options)
        assert refused.ephemeral and not refused.attachments, (name, refused.content)
        assert f"there is no tracked item '{key}'" in (refused.content or ""), refused.content

    # The same commands in A see it.
    assert NAME in _text(await two.ask(a, "status", user=a.member, item=key))
    shown = await two.ask(a, "timeline", user=a.member, item=key)
    assert "Reported" in _text(shown)
    custom = await two.ask(a, "deadline", "add", item=key, title="Vote", when="2027-04-01")
    assert (custom.content or "").startswith("Custom deadline #"), custom.content
    assert "Vote" in _text(await two.ask(a, "deadlines", user=a.member))
    assert "Vote" not in _text(await two.ask(b, "deadlines", user=b.member))

    # Exports: A's timeline file has the item's events; B's has none of them.
    for side, present in ((a, True), (b, False)):
        reply = await two.ask(side, "export", user=side.member, format="json")
        (attachment,) = reply.attachments
        items = {e["item_key"] for e in json.loads(attachment.data)["events"]}
        assert (key in items) is present
        ics = await two.ask(side, "export", user=side.member, format="ics")
        assert (b"Vote" in ics.attachments[0].data) is present


async def test_a_timeline_button_of_a_guild_item_does_nothing_in_another_guild(
    two: Two,
) -> None:
    key = await _track(two)
    for n in range(11):  # two pages
        day = f"2027-02-{n + 1:02d}"
        await two.ask(two.a, "update", "add", item=key, summary=f"Story {n}", when=day)
    reply = await two.ask(two.a, "timeline", user=two.a.member, item=key)
    message = reply.message
    assert message is not None
    custom_id = f"tl:{key}:2:n"  # "Next", to page 2
    assert message.find_component(custom_id) is not None
    # The same button clicked from guild B (a forged click): refused, nothing shown.
    elsewhere = await two.standin.click(
        two.b.guild.id, two.b.general, two.b.member, message, custom_id, stale=True
    )
    answer = await elsewhere.response()
    assert answer.ephemeral and "Story" not in _text(answer)
    # In A it turns the page.
    clicked = await two.standin.click(
        two.a.guild.id, two.a.general, two.a.member, message, custom_id
    )
    await clicked.response()
    assert "Page 2 of 2" in message.embeds[0]["footer"]["text"]


async def _reminders_to(two: Two, side: Side) -> None:
    for sub, options in [
        ("channel", {"purpose": "reminders", "channel": str(side.reminders)}),
        ("reminders", {"offsets": "1h"}),
    ]:
        reply = await two.run(side, "setup", sub, options)
        assert reply.ephemeral, reply.content


def _posted(two: Two, side: Side) -> list[MessageRecord]:
    return two.standin.messages(side.reminders)


async def test_a_guild_item_is_reminded_only_in_its_guild_and_not_once_stopped(
    two: Two,
) -> None:
    two.clock.now = (REPORTED + timedelta(minutes=30)).astimezone(UTC)
    key = await _track(two)
    await _reminders_to(two, two.a)
    await _reminders_to(two, two.b)
    for stage, when in [("submitted", "2027-03-01 10:00"), ("reported", "2027-03-02 14:00")]:
        reply = await two.ask(
            two.a, "update", "add", item=key, summary=stage, stage=stage, when=when
        )
        assert (reply.content or "").startswith("Recorded"), reply.content
    custom = await two.ask(
        two.a, "deadline", "add", item=key, title="Floor vote", when="2027-03-05 22:00"
    )
    assert (custom.content or "").startswith("Custom deadline #"), custom.content
    await two.bot.after.drain()
    two.clock.now = (REPORTED + timedelta(hours=23, seconds=5)).astimezone(UTC)
    assert await two.bot.reminders.sweep() == 1
    (posted,) = _posted(two, two.a)
    assert posted.embeds[0]["title"] == f"Vote window opens in 1h: {NAME}"
    assert _posted(two, two.b) == []

    # Stopped: audited, gone from A's commands, and its reminders with it.
    stopped = await two.ask(two.a, "track", "stop", item=key)
    assert stopped.content == (
        f"This server no longer tracks **{NAME}** (`{key}`). It is hidden, not deleted (audited)."
    )
    await two.bot.after.drain()
    async with two.bot.services.sessions() as session:
        audit = (await session.exec(select(AuditLog).where(AuditLog.target_id == key))).all()
        row = (await session.exec(select(Item).where(Item.key == key))).one()
    assert [(e.action, e.actor_id) for e in audit] == [
        ("track", two.a.moderator),
        ("track_stop", two.a.moderator),
    ]
    assert row.hidden_at is not None and row.hidden_by == two.a.moderator
    async with two.bot.services.sessions() as session:
        planned = (
            await session.exec(select(PlannedDeadline).where(PlannedDeadline.item_id == row.id))
        ).all()
    assert planned == []  # nothing of it is reminded any more, computed or custom
    assert NAME not in _text(await two.ask(two.a, "status", user=two.a.member))
    assert await two.choices(two.a, "status", "kim") == []
    gone = await two.ask(two.a, "timeline", user=two.a.member, item=key)
    assert f"there is no tracked item '{key}'" in (gone.content or "")
    for after in (timedelta(hours=71, seconds=5), timedelta(hours=79, seconds=5)):
        # The window's close and the custom deadline, both an hour ahead: neither reminded.
        two.clock.now = (REPORTED + after).astimezone(UTC)
        assert await two.bot.reminders.sweep() == 0
    assert len(_posted(two, two.a)) == 1


async def test_track_refuses_bad_input_and_members_storing_nothing(two: Two) -> None:
    a = two.a
    refused = await two.ask(a, "track", "motion", user=a.member, name=NAME)
    assert refused.ephemeral and "Only moderators" in (refused.content or "")
    bad_bill = await two.ask(a, "track", "motion", name=NAME, bill_no="22-1")
    assert (
        bad_bill.content == "bill_no: a National Assembly bill number is digits only, e.g. 2201234."
    )
    shared = await two.ask(
        a, "track", "motion", name="Motion to dismiss Defence Minister Han Min-koo"
    )
    assert shared.content == (
        "name: this server already tracks an item named "
        "'Motion to dismiss Defence Minister Han Min-koo'."
    )
    for options, text in [
        ({"name": "x" * 150}, "name: at most 100 characters (this one has 150)."),
        ({"name": "Kim\x00"}, "name: must not contain control characters (U+0000 at 4)."),
        ({"name": "Kim", "name_ko": "   "}, "name_ko: must not be empty."),
        (
            {"name": "Kim", "keywords": ",".join(f"k{n}" for n in range(30))},
            "keywords: at most 20 keywords",
        ),
        ({"name": "Kim", "keywords": "k" * 120}, "keywords: at most 100 characters"),
    ]:
        reply = await two.run(a, "track", "motion", options)
        assert reply.ephemeral and (reply.content or "").startswith(text), reply.content
    configured = await two.ask(a, "track", "stop", item="gsomia")
    assert "shared by every server" in (configured.content or "")
    async with two.bot.services.sessions() as session:
        assert (await session.exec(select(Item).where(Item.guild_id == a.guild.id))).all() == []
        assert (await session.exec(select(AuditLog).where(AuditLog.action == "track"))).all() == []


async def test_track_is_synced_with_korean_names(two: Two) -> None:
    commands = {c["name"]: c for c in two.standin.commands()}
    track = commands["track"]
    assert track["name_localizations"]["ko"] == "추적"
    subs = {o["name"]: o for o in track["options"]}
    assert subs["motion"]["name_localizations"]["ko"] == "해임건의안"
    assert subs["stop"]["name_localizations"]["ko"] == "중지"
    names = {o["name"]: o["name_localizations"]["ko"] for o in subs["motion"]["options"]}
    assert names == {
        "name": "이름",
        "name_ko": "한국어이름",
        "bill_no": "의안번호",
        "keywords": "키워드",
    }


async def test_the_web_pages_never_show_a_guild_item(site: Site) -> None:
    spec = await track_motion(
        site.services,
        guild_id=1234,
        actor_id=5678,
        name=NAME,
        name_ko=NAME_KO,
        bill_no=None,
        keywords=None,
        now=site.services.clock(),
    )
    async with site.client.get("/") as response:
        assert response.status == 200
        page = await response.text()
    assert NAME not in page and spec.key not in page and NAME_KO not in page
    for path in (f"/items/{spec.key}", f"/items/{spec.key}?lang=ko"):
        async with site.client.get(path) as response:
            assert response.status == 404
            assert NAME not in await response.text()
