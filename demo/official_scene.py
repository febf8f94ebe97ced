"""The demo's official-record scene: a made-up motion followed from proposal to vote.

A moderator tracks a made-up motion by its made-up bill number; the demo's copy of the
Assembly's record (the Open API stand-in on loopback) then moves on stage by stage, and
each poll of the record announces the new stage in #updates.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from discordbot.bot import MotionwatchBot
from motionwatch_standin import DiscordStandIn, Guild, MessageRecord
from motionwatch_standin.assembly import AssemblyStandIn, bill_row
from services.items import items_for

# Made up, and said to be so in both languages: the demo's record is not the Assembly's.
DEMO_NA_KEY = "demo-key-not-real"
DEMO_BILL_NO = "2299999"
DEMO_MOTION_EN = "(Demo, not real) Motion to dismiss the Minister of Demonstrations"
DEMO_MOTION_KO = "(가상) 국무위원(시연부장관) 해임건의안"
# The record's name: a 해임건의안 as the Assembly writes one, with the made-up minister.
DEMO_BILL_NAME = "국무위원(시연부장관 가상인물) 해임건의안"
SEOUL = ZoneInfo("Asia/Seoul")


class Clock(Protocol):
    def __call__(self) -> datetime: ...

    def jump_to(self, moment: datetime) -> None: ...


class Out(Protocol):
    def say(self, who: str, what: str) -> None: ...

    def show(self, message: MessageRecord | None, *, ephemeral: bool = False) -> None: ...


def demo_assembly() -> AssemblyStandIn:
    """The Open API stand-in the demo's bot polls, holding no bills until the scene starts."""
    return AssemblyStandIn(key=DEMO_NA_KEY)


async def official_scene(
    standin: DiscordStandIn,
    api: AssemblyStandIn,
    bot: MotionwatchBot,
    clock: Clock,
    out: Out,
    guild: Guild,
    channel: int,
    moderator: int,
    updates: int,
) -> None:
    out.say(
        "Jun",
        f'/track motion name:"{DEMO_MOTION_EN}" name_ko:"{DEMO_MOTION_KO}" bill_no:{DEMO_BILL_NO}',
    )
    tracked = await (
        await standin.invoke(
            guild.id,
            channel,
            moderator,
            "track",
            subcommand="motion",
            options={"name": DEMO_MOTION_EN, "name_ko": DEMO_MOTION_KO, "bill_no": DEMO_BILL_NO},
        )
    ).response()
    out.show(tracked.message, ephemeral=tracked.ephemeral)
    seen = await items_for(bot.services, guild.id)
    (key,) = [s.key for s in seen.specs if seen.is_own(s) and s.bill_no == DEMO_BILL_NO]

    print(
        "\n(the Assembly's Open API is a local stand-in here, at "
        f"{api.base} with a made-up key; the bill in it is made up)"
    )
    proposed = clock().astimezone(SEOUL).date()
    reported, decided = proposed + timedelta(days=1), proposed + timedelta(days=2)
    life: dict[str, Any] = {"proposed": proposed.isoformat()}
    steps: list[tuple[str, date, dict[str, Any]]] = [
        ("proposed", proposed, {}),
        ("reported to the plenary", reported, {"reported": reported.isoformat()}),
        (
            "put to the vote and passed",
            decided,
            {"decided": decided.isoformat(), "result": "원안가결"},
        ),
    ]
    announced: set[int] = set()
    poll_every = timedelta(seconds=bot.services.settings.na_poll_seconds)
    for n, (what, day, change) in enumerate(steps):
        life.update(change)
        api.bills = [bill_row(DEMO_BILL_NO, DEMO_BILL_NAME, **life)]
        # The next morning: a stage known only by its date counts once that day is over.
        next_morning = datetime.combine(day + timedelta(days=1), time(9), SEOUL)
        clock.jump_to(max(clock() + poll_every, next_morning))
        print(
            f"\n(the record now says bill {DEMO_BILL_NO} was {what} on {day:%d %b %Y}; the demo "
            f"moves its clock to {clock().astimezone(SEOUL):%d %b %Y %H:%M %Z}, when the bot "
            "polls the record, as it does every "
            f"{bot.services.settings.na_poll_seconds // 60} min)"
        )
        await bot.official.poll_due()
        message = await standin.wait_for_message(updates, _about_the_bill(announced))
        announced.add(message.id)
        print("\n── in #updates")
        out.show(message)
        if n == 1:  # while reported: when the vote may be held
            await _status(standin, out, guild, channel, moderator, key)
    await _status(standin, out, guild, channel, moderator, key)


def _about_the_bill(announced: set[int]) -> Callable[[MessageRecord], bool]:
    # #updates also gets the GSOMIA story the news scene added, delivered in its own time.
    return lambda m: m.id not in announced and DEMO_BILL_NO in str(m.embeds)


async def _status(
    standin: DiscordStandIn, out: Out, guild: Guild, channel: int, member: int, key: str
) -> None:
    out.say("Jun", f"/status item:{key}")
    shown = await (
        await standin.invoke(guild.id, channel, member, "status", options={"item": key})
    ).response()
    out.show(shown.message, ephemeral=shown.ephemeral)
