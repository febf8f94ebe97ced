"""The real bot and discord.py against the stand-in: login, sync, the read commands, paging,
autocomplete, errors, and a gateway RECONNECT then RESUME (SPEC §1, §3, §7)."""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from config.tracker import load_tracker
from demo.harness import running_bot
from motionwatch_standin import CallbackRecord, DiscordStandIn, MessageRecord
from tests.conftest import E2E_NOW, ROOT, World

KST = ZoneInfo("Asia/Seoul")
DISCORD_WINDOW = 3.0  # seconds Discord gives a bot to answer an interaction


def _ts(moment: datetime, style: str = "F") -> str:
    return f"<t:{int(moment.timestamp())}:{style}>"


def _fields(embed: dict[str, object]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed.get("fields", [])}  # type: ignore[attr-defined]


def _button(message: MessageRecord, label: str) -> dict[str, object]:
    for row in message.components:
        for component in row.get("components", []):
            if component.get("label") == label:
                return dict(component)
    raise AssertionError(f"no button {label!r} in {message.components}")


async def _ask(world: World, name: str, **options: str | int) -> CallbackRecord:
    interaction = await world.standin.invoke(
        world.guild.id, world.channel, world.member, name, options=options or None
    )
    reply = await interaction.response()
    assert interaction.latency is not None and interaction.latency < DISCORD_WINDOW
    return reply


async def test_login_syncs_every_read_command_with_korean_names(world: World) -> None:
    commands = {c["name"]: c for c in world.standin.commands()}
    assert {"status", "timeline", "deadlines", "about"} <= set(commands)
    assert commands["status"]["name_localizations"]["ko"] == "현황"
    assert commands["timeline"]["description_localizations"]["ko"].startswith("항목의 사건")
    item_option = commands["status"]["options"][0]
    assert item_option["name"] == "item" and item_option["name_localizations"]["ko"] == "항목"
    assert item_option["autocomplete"] is True
    assert world.standin.sync_count() == 1


async def test_a_restart_with_unchanged_commands_does_not_sync_again(
    standin: DiscordStandIn, database_url: str
) -> None:
    standin.add_guild("G")
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    async with running_bot(standin, database_url=database_url, tracker=tracker) as bot:
        assert bot.synced == ["global"]
    async with running_bot(standin, database_url=database_url, tracker=tracker) as bot:
        assert bot.synced == []
    # A definition that changed (here: a dev guild added) is synced again.
    guild = standin.add_guild("Dev")
    async with running_bot(
        standin, database_url=database_url, tracker=tracker, dev_guild_id=guild.id
    ) as bot:
        assert bot.synced == [f"guild:{guild.id}"]
    assert standin.sync_count() == 1
    assert standin.sync_count(guild.id) == 1


async def test_status_of_gsomia(world: World) -> None:
    reply = await _ask(world, "status", item="gsomia")
    assert not reply.ephemeral
    (embed,) = reply.embeds
    assert embed["title"] == "South Korea–Japan GSOMIA"
    assert embed["description"].startswith("**Termination notice withdrawn (back in force)**")
    fields = _fields(embed)
    assert fields["Extensions"] == "At least 2 on the record, of 10 anniversaries passed in force"
    renewal, notice = datetime(2027, 11, 23, tzinfo=KST), datetime(2027, 8, 25, tzinfo=KST)
    assert fields["Next renewal"] == f"{_ts(renewal)} ({_ts(renewal, 'R')})"
    assert fields["Notice deadline"].startswith("by the end of 24 Aug 2027")
    assert fields["Next deadline"] == f"Notice deadline: {_ts(notice)} ({_ts(notice, 'R')})"
    assert "koreaherald.com" in fields["Latest update"]


async def test_status_of_every_item(world: World) -> None:
    reply = await _ask(world, "status")
    titles = [e["title"] for e in reply.embeds]
    assert titles == ["South Korea–Japan GSOMIA", "Motion to dismiss Defence Minister Han Min-koo"]
    motion = _fields(reply.embeds[1])
    assert reply.embeds[1]["description"].startswith("**Shelved** since 24 Nov 2016")
    assert motion["Thresholds"] == "100 of 300 to propose · 151 of 300 to pass"


async def test_timeline_pages_with_buttons(world: World) -> None:
    reply = await _ask(world, "timeline", item="gsomia")
    message = reply.message
    assert message is not None
    (embed,) = message.embeds
    assert embed["footer"]["text"] == "Page 1 of 2 · 18 events"
    assert embed["description"].count("`#") == 10
    assert "Signing postponed" not in embed["description"]
    assert "The first attempt fails" in embed["description"]
    assert _button(message, "Previous")["disabled"] is True

    clicked = await world.standin.click(
        world.guild.id,
        world.channel,
        world.member,
        message,
        str(_button(message, "Next")["custom_id"]),
    )
    page2 = await clicked.response()
    assert page2.type == 7  # the same message, edited in place
    assert message.embeds[0]["footer"]["text"] == "Page 2 of 2 · 18 events"
    assert message.embeds[0]["description"].count("`#") == 8
    assert "withdraws both 2019 notes" in message.embeds[0]["description"]
    assert _button(message, "Next")["disabled"] is True

    back = await world.standin.click(
        world.guild.id,
        world.channel,
        world.member,
        message,
        str(_button(message, "Previous")["custom_id"]),
    )
    await back.response()
    assert message.embeds[0]["footer"]["text"] == "Page 1 of 2 · 18 events"


async def test_timeline_page_option_and_its_range(world: World) -> None:
    reply = await _ask(world, "timeline", item="han-minkoo-dismissal", page=1)
    assert reply.embeds[0]["footer"]["text"] == "Page 1 of 1 · 6 events"
    refused = await _ask(world, "timeline", item="gsomia", page=3)
    assert refused.ephemeral
    assert refused.content == "page: must be between 1 and 2."


async def test_unknown_item_is_refused_naming_the_field(world: World) -> None:
    reply = await _ask(world, "status", item="nato")
    assert reply.ephemeral
    assert reply.content == (
        "item: there is no tracked item 'nato'. Known items: gsomia, han-minkoo-dismissal."
    )


async def test_timeline_needs_an_item_when_several_are_tracked(world: World) -> None:
    reply = await _ask(world, "timeline")
    assert reply.ephemeral and reply.content is not None
    assert reply.content.startswith("item: this server tracks several items")


async def test_an_internal_error_gives_a_short_message_and_logs_the_traceback(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away")

    # discord.py loads extensions into sys.modules without binding them on the package.
    monkeypatch.setattr(sys.modules["cogs.status"], "statuses", broken)
    with caplog.at_level(logging.ERROR):
        reply = await _ask(world, "status")
    assert reply.ephemeral
    assert reply.content == (
        "Something went wrong on our side; it has been logged. Please try again."
    )
    assert "the database went away" not in (reply.content or "")
    record = next(r for r in caplog.records if r.name == "discordbot.errors")
    assert record.exc_info is not None and "the database went away" in str(record.exc_info[1])


async def test_deadlines(world: World) -> None:
    reply = await _ask(world, "deadlines")
    (embed,) = reply.embeds
    names = [f["name"] for f in embed["fields"]]
    assert names == [
        "Notice deadline · South Korea–Japan GSOMIA",
        "Renewal · South Korea–Japan GSOMIA",
    ]
    assert "renews on 23 Nov 2027" in embed["fields"][0]["value"]
    assert embed["footer"]["text"].startswith("Reminders are off")


async def test_about(world: World) -> None:
    reply = await _ask(world, "about")
    fields = _fields(reply.embeds[0])
    assert fields["Version"] == "0.1.0" or fields["Version"] == "unknown"
    assert fields["Database"] in {"SQLite", "PostgreSQL"}
    assert fields["Last news poll"] == "Never yet"
    assert fields["Tracking"] == "2 items in 1 servers"


async def test_autocomplete_on_keys_and_names(world: World) -> None:
    standin = world.standin
    args = (world.guild.id, world.channel, world.member, "status")
    choices = await standin.autocomplete(*args, focused="item", value="gs")
    assert [(c.name, c.value) for c in choices] == [("South Korea–Japan GSOMIA", "gsomia")]
    choices = await standin.autocomplete(*args, focused="item", value="해임", locale="ko")
    assert [(c.name, c.value) for c in choices] == [
        ("한민구 국방부 장관 해임건의안", "han-minkoo-dismissal")
    ]
    assert len(await standin.autocomplete(*args, focused="item", value="")) == 2


async def test_a_korean_guild_gets_korean_replies(
    standin: DiscordStandIn, database_url: str
) -> None:
    guild = standin.add_guild("한국 모임", preferred_locale="ko")
    channel = next(iter(guild.channels))
    member = guild.add_member("민아")
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    async with running_bot(
        standin, database_url=database_url, tracker=tracker, clock=lambda: E2E_NOW
    ):
        interaction = await standin.invoke(
            guild.id, channel, member, "status", options={"item": "gsomia"}
        )
        reply = await interaction.response()
    (embed,) = reply.embeds
    assert embed["title"] == "한일 군사정보보호협정(GSOMIA)"
    assert "종료 통보 철회(정상화)" in embed["description"]
    assert _fields(embed)["연장 횟수"] == "기록상 최소 2회 (발효 중 지난 기념일 10회 중)"


async def test_reconnect_then_resume_keeps_answering(world: World) -> None:
    standin = world.standin
    identified = standin.identify_count
    await standin.send_reconnect()
    await standin.wait_for_resume(timeout=10)
    assert standin.resume_count == 1
    assert standin.identify_count == identified  # resumed, not a fresh session
    reply = await _ask(world, "status", item="gsomia")
    assert reply.embeds[0]["title"] == "South Korea–Japan GSOMIA"


async def test_the_token_never_reaches_the_log(
    standin: DiscordStandIn, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    standin.add_guild("G")
    tracker = load_tracker(ROOT / "config" / "tracker.toml")
    with caplog.at_level(logging.DEBUG):
        async with running_bot(standin, database_url=database_url, tracker=tracker):
            pass
    assert caplog.records
    assert standin.bot_token not in caplog.text
