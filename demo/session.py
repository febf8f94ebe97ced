"""The demo session: a member asks /status and /timeline and pages through it.

Everything is real but Discord: the bot process, discord.py, the database (a
temporary SQLite file), the rules. Discord is the bundled stand-in on loopback.
"""

from __future__ import annotations

import logging
import tempfile
import textwrap
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from config.settings import Settings
from config.tracker import TrackerConfig
from demo.feed import DemoFeed, Story, serving
from demo.harness import running_bot
from demo.official_scene import DEMO_NA_KEY, demo_assembly, official_scene
from demo.transcript import page_text, render_message
from discordbot.bot import MotionwatchBot
from motionwatch_standin import DiscordStandIn, Guild, MessageRecord, Perm
from services import calendar as calendars
from web.app import make_app
from web.serve import WebServer, start_web

log = logging.getLogger(__name__)
READER_ZONE = ZoneInfo("Asia/Seoul")
# The demo's database is thrown away at the end; the update says plainly that it is made up.
DEMO_SUMMARY = "(Demo, not real) Seoul notifies Tokyo in writing that it will end GSOMIA."
DEMO_STORY_OLD = "(Demo, not real) First snow of the winter in Seoul"
DEMO_STORY = "(Demo, not real) Seoul and Tokyo agree to keep GSOMIA for another year"


class DemoClock:
    """The real time, until the demo jumps ahead to show a reminder falling due."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def jump_to(self, moment: datetime) -> None:
        self.offset = moment - datetime.now(UTC)


class Printer:
    def __init__(self, names: Mapping[int, str], now_source: Any) -> None:
        self.names = names
        self.now_source = now_source

    def say(self, who: str, what: str) -> None:
        print(f"\n── {who}: {what}")

    def show(self, message: MessageRecord | None, *, ephemeral: bool = False) -> None:
        if message is None:
            print("   (no message)")
            return
        note = " (only you can see this)" if ephemeral else ""
        print(f"   motionwatch{note}:")
        as_sent = {
            "content": message.content,
            "embeds": message.embeds,
            "components": message.components,
        }
        for line in render_message(
            as_sent, tz=READER_ZONE, now=self.now_source(), names=self.names
        ):
            print(line)


async def run_demo(settings: Settings, tracker: TrackerConfig) -> int:
    # The demo's own logs would interleave with the transcript; keep only problems.
    logging.getLogger().setLevel(logging.WARNING)
    # No voice here: discord.py's warnings about missing voice libraries are noise.
    logging.getLogger("discord.client").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="motionwatch-demo-") as tmp:
        database_url = f"sqlite+aiosqlite:///{Path(tmp) / 'demo.db'}"
        async with DiscordStandIn() as standin:
            guild = standin.add_guild(name="Korea Watchers", preferred_locale="en-US")
            channel = next(iter(guild.channels))
            updates = guild.add_channel("updates")
            admins = guild.add_role("Admins", Perm.MANAGE_GUILD)
            member = guild.add_member("Mina")
            moderator = guild.add_member("Jun", roles=[admins])
            names = {member: "Mina", moderator: "Jun", updates: "updates", channel: "general"}
            print("motionwatch demo: the real bot and discord.py against the bundled Discord")
            print(f"stand-in at {standin.api_base} (no token, no network), on a fresh database.")
            clock = DemoClock()
            # The outlets in the configuration are on the internet; the demo's feed is local,
            # and so is its Assembly Open API.
            async with (
                demo_assembly() as assembly,
                running_bot(
                    standin,
                    database_url=database_url,
                    tracker=tracker.without_sources(),
                    clock=clock,
                    allow_private_sources=True,
                    na_open_api_key=DEMO_NA_KEY,
                    na_open_api_base=assembly.base,
                ) as bot,
            ):
                out = Printer(names, bot.now)
                print(
                    f"The bot logged in as {bot.user}, synced {len(standin.commands())} commands "
                    f"and joined {guild.name!r}."
                )

                out.say("Mina (member) in #general", "/status")
                reply = await (await standin.invoke(guild.id, channel, member, "status")).response()
                out.show(reply.message, ephemeral=reply.ephemeral)

                out.say("Mina", "/timeline item:gsomia")
                interaction = await standin.invoke(
                    guild.id, channel, member, "timeline", options={"item": "gsomia"}
                )
                reply = await interaction.response()
                out.show(reply.message, ephemeral=reply.ephemeral)

                out.say("Mina", "clicks [Next]")
                next_id = _button(reply.message, "Next")
                assert reply.message is not None
                clicked = await standin.click(guild.id, channel, member, reply.message, next_id)
                await clicked.response()
                out.show(reply.message)

                await _set_channel(
                    standin,
                    guild,
                    channel,
                    moderator,
                    out,
                    "Jun (Manage Server)",
                    "updates",
                    updates,
                )

                when = bot.now().astimezone(READER_ZONE).strftime("%Y-%m-%d %H:%M")
                summary = DEMO_SUMMARY
                out.say(
                    "Jun",
                    f'/update add item:gsomia stage:termination_notified when:"{when}" '
                    f'summary:"{summary}"',
                )
                added = await (
                    await standin.invoke(
                        guild.id,
                        channel,
                        moderator,
                        "update",
                        subcommand="add",
                        options={
                            "item": "gsomia",
                            "stage": "termination_notified",
                            "when": when,
                            "summary": summary,
                        },
                    )
                ).response()
                out.show(added.message, ephemeral=added.ephemeral)
                announcement = await standin.wait_for_message(updates)
                print("\n── in #updates")
                out.show(announcement)

                out.say("Mina", "/status item:gsomia")
                after = await (
                    await standin.invoke(
                        guild.id, channel, member, "status", options={"item": "gsomia"}
                    )
                ).response()
                out.show(after.message, ephemeral=after.ephemeral)

                reminders = guild.add_channel("reminders")
                names[reminders] = "reminders"
                steps: list[dict[str, str | int]] = [
                    {"purpose": "reminders", "channel": reminders},
                    {"offsets": "7d,1d"},
                ]
                for options in steps:
                    sub = "channel" if "channel" in options else "reminders"
                    shown = " ".join(
                        f"{k}:{'#reminders' if k == 'channel' else v}" for k, v in options.items()
                    )
                    out.say("Jun", f"/setup {sub} {shown}")
                    done = await (
                        await standin.invoke(
                            guild.id,
                            channel,
                            moderator,
                            "setup",
                            subcommand=sub,
                            options=options,
                        )
                    ).response()
                    out.show(done.message, ephemeral=done.ephemeral)

                await bot.after.drain()  # the re-plan that /setup reminders started
                first = await bot.reminders.next_due()
                assert first is not None
                clock.jump_to(first + timedelta(seconds=5))
                print(
                    f"\n(the demo moves its clock forward to "
                    f"{clock().astimezone(READER_ZONE):%d %b %Y %H:%M %Z}, when the first "
                    "reminder falls due; the bot sweeps for due reminders every 20 s)"
                )
                await bot.reminders.sweep()
                reminder = await standin.wait_for_message(reminders)
                print("\n── in #reminders")
                out.show(reminder)

                await _news_scene(standin, bot, clock, out, names, guild, channel, moderator)
                await official_scene(
                    standin, assembly, bot, clock, out, guild, channel, moderator, updates
                )
                await _web_scene(
                    bot, lambda: _calendar_command(standin, guild, channel, moderator, out)
                )
            print()
            problems = standin.violations
            print(
                f"stand-in: {len(standin.requests)} requests from the bot, "
                f"{len(problems)} spec violations ({standin.spec_status})."
            )
            for problem in problems:
                print(f"  ! {problem}")
            return 0 if not problems else 1


async def _set_channel(
    standin: DiscordStandIn,
    guild: Guild,
    channel: int,
    moderator: int,
    out: Printer,
    who: str,
    purpose: str,
    target: int,
) -> None:
    out.say(who, f"/setup channel purpose:{purpose} channel:#{purpose}")
    done = await (
        await standin.invoke(
            guild.id,
            channel,
            moderator,
            "setup",
            subcommand="channel",
            options={"purpose": purpose, "channel": target},
        )
    ).response()
    out.show(done.message, ephemeral=done.ephemeral)


async def _news_scene(
    standin: DiscordStandIn,
    bot: MotionwatchBot,
    clock: DemoClock,
    out: Printer,
    names: dict[int, str],
    guild: Guild,
    channel: int,
    moderator: int,
) -> None:
    """A moderator follows a feed; a story about GSOMIA arrives and is added to the timeline."""
    news = guild.add_channel("news")
    names[news] = "news"
    await _set_channel(standin, guild, channel, moderator, out, "Jun", "news", news)
    feed = DemoFeed(
        "Demo Wire",
        [Story("demo-1", DEMO_STORY_OLD, "https://wire.invalid/snow", clock())],
    )
    async with serving(feed):
        out.say("Jun", f'/source add url:{feed.url} name:"Demo Wire"')
        interaction = await standin.invoke(
            guild.id,
            channel,
            moderator,
            "source",
            subcommand="add",
            options={"url": feed.url, "name": "Demo Wire"},
        )
        await interaction.response()  # a deferral: the feed is fetched first
        (added,) = await interaction.wait_followups(1)
        out.show(added, ephemeral=True)
        clock.jump_to(clock() + timedelta(seconds=bot.services.settings.news_poll_seconds))
        published = clock() - timedelta(minutes=2)
        feed.stories.append(Story("demo-2", DEMO_STORY, "https://wire.invalid/gsomia", published))
        print(
            "\n(the demo moves its clock on to when the feed is due to be polled again; "
            "a story about GSOMIA has appeared in it)"
        )
        await bot.news.poll_due()
        await bot.news.drain()
        story = await standin.wait_for_message(news)
        print("\n── in #news")
        out.show(story)
        out.say("Jun", "clicks [Add to timeline]")
        clicked = await standin.click(
            guild.id, news, moderator, story, _button(story, "Add to timeline")
        )
        await clicked.response()
        out.show(standin.message(story.id))


# How much of the item page the demo prints: enough to see the status and the first events.
WEB_LINES_SHOWN = 14


async def _web_scene(bot: MotionwatchBot, ask_for_calendar: Callable[[], Awaitable[None]]) -> None:
    """The web pages (SPEC §8) over the demo's store, as a browser on this machine gets them."""
    server = await start_web(make_app(bot.services), host="127.0.0.1", port=0)
    try:
        async with aiohttp.ClientSession() as http:
            url = f"{server.url}/items/gsomia"
            async with http.get(url, headers={"Accept-Language": "en"}) as response:
                html = await response.text()
            print(f"\n── the web page {url} (HTTP {response.status}), as text:")
            _print_lines(page_text(html), WEB_LINES_SHOWN)
            await ask_for_calendar()
            await _calendar_scene(bot, server, http)
    finally:
        await server.stop()


async def _calendar_command(
    standin: DiscordStandIn, guild: Guild, channel: int, moderator: int, out: Printer
) -> None:
    out.say("Jun", "/setup calendar action:show")
    shown = await (
        await standin.invoke(
            guild.id, channel, moderator, "setup", subcommand="calendar", options={"action": "show"}
        )
    ).response()
    out.show(shown.message, ephemeral=shown.ephemeral)


# How much of the calendar feed the demo prints: the first event in full.
CALENDAR_LINES_SHOWN = 18


async def _calendar_scene(
    bot: MotionwatchBot, server: WebServer, http: aiohttp.ClientSession
) -> None:
    """The guild's calendar feed, fetched as a calendar app subscribed to it would."""
    (guild_id,) = [g.id for g in bot.guilds]
    secret = await calendars.existing_secret(bot.services, guild_id=guild_id)
    assert secret is not None, "/setup calendar show made the secret"
    url = f"{server.url}{calendars.calendar_path(secret)}"
    async with http.get(url) as response:
        body = await response.text()
    print(f"\n── the calendar feed {url} (HTTP {response.status}, {response.content_type}):")
    lines = [line for line in body.splitlines() if line.strip()]
    _print_lines(lines, CALENDAR_LINES_SHOWN)


def _print_lines(lines: list[str], shown: int) -> None:
    for line in lines[:shown]:
        print("   " + textwrap.shorten(line, 76, placeholder=" …"))
    if len(lines) > shown:
        print(f"   … {len(lines) - shown} more lines")


def _button(message: MessageRecord | None, label: str) -> str:
    for row in message.components if message else []:
        for component in row.get("components", []):
            if component.get("label") == label:
                return str(component["custom_id"])
    raise LookupError(f"no button {label!r} on the message")
