"""The official record in the real bot against the Discord stand-in and the Open API stand-in.

A linked motion's stages, from proposal to passed, posted once each in the updates
channel as the record's; `/source list` shows the official source; a paused source warns
the news channel; the shared client's guard refuses a private address unless allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from demo.harness import running_bot
from motionwatch_standin import DiscordStandIn, Perm
from motionwatch_standin.assembly import AssemblyStandIn, bill_row
from news.http import feed_client
from runtime.startup import prepare_database
from services.build import build_services
from services.items import items_for
from services.official import OFFICIAL_NAME, OfficialPoller
from storage.engine import writing
from storage.models import GuildSettings
from tests.test_official import BILL, KEY, MOTION, settings, tracker


@dataclass
class Clock:
    now: datetime = datetime(2027, 3, 6, 9, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


async def test_a_linked_motion_is_announced_stage_by_stage_once(
    standin: DiscordStandIn, database_url: str, tmp_path: Path
) -> None:
    guild = standin.add_guild("Korea Watchers")
    general = guild.channel_named("general")
    updates, news = guild.add_channel("updates"), guild.add_channel("news")
    admin = guild.add_member("Seo", roles=[guild.add_role("Admins", Perm.MANAGE_GUILD)])
    clock = Clock()
    async with (
        AssemblyStandIn(key=KEY) as api,
        running_bot(
            standin,
            database_url=database_url,
            tracker=tracker(tmp_path),
            clock=clock,
            allow_private_sources=True,
            na_open_api_key=KEY,
            na_open_api_base=api.base,
        ) as bot,
    ):
        for purpose, channel in (("updates", updates), ("news", news)):
            interaction = await standin.invoke(
                guild.id,
                general,
                admin,
                "setup",
                options={"purpose": purpose, "channel": channel},
                subcommand="channel",
            )
            await interaction.response(timeout=15)
        assert "official:poll" in {job.id for job in bot.services.scheduler.get_jobs()}

        lives = [
            {"proposed": "2027-03-02"},
            {"proposed": "2027-03-02", "reported": "2027-03-03"},
            {
                "proposed": "2027-03-02",
                "reported": "2027-03-03",
                "decided": "2027-03-05",
                "result": "원안가결",
            },
        ]
        for n, life in enumerate(lives, start=1):
            api.bills = [bill_row(BILL, MOTION, **life)]
            result = await bot.official.poll_due()
            assert result is not None and len(result.recorded) == 1
            # Announced by the poll itself, once the stage is committed.
            assert len(standin.messages(updates)) == n
            clock.now += timedelta(minutes=16)  # NA_POLL_SECONDS: 900 by default
            again = await bot.official.poll_due()  # due again, nothing new
            assert again is not None and again.recorded == ()
            clock.now += timedelta(minutes=16)
        assert await bot.announcements.deliver() == 0
        posted = standin.messages(updates)
        assert len(posted) == 3
        for message in posted:
            (embed,) = message.embeds
            assert "official record" in embed["description"]
            assert OFFICIAL_NAME in embed["description"]
            assert "<@" not in embed["description"]
        assert "passed" in str(posted[-1].embeds[0]).lower()

        listed = await (
            await standin.invoke(guild.id, general, admin, "source", subcommand="list")
        ).response(timeout=15)
        assert (
            f"{OFFICIAL_NAME} (official record, every server)" in (listed.embeds[0]["description"])
        )

        # Five failures in a row pause it, and the news channel hears it once.
        api.fault = "error-290"
        for _ in range(5):
            clock.now += timedelta(days=2)
            await bot.official.poll_due()
        warning = await standin.wait_for_message(news, timeout=15)
        assert "paused" in warning.content and "ERROR-290" in warning.content
        assert KEY not in warning.content
    assert all(KEY not in str(m.content) for m in standin.messages(news))


@pytest.mark.parametrize("allow_private", [False, True])
async def test_the_shared_clients_guard_applies(
    database_url: str, tmp_path: Path, allow_private: bool
) -> None:
    config = tracker(tmp_path)
    async with (
        AssemblyStandIn(key=KEY) as api,
        feed_client(user_agent="motionwatch-test", allow_private=allow_private, timeout=5) as http,
    ):
        services = build_services(settings(database_url, api.base), config, http=http)
        try:
            prepared = await prepare_database(
                services.engine, services.sessions, items=config.items
            )
            services.item_ids.update(prepared.item_ids)
            async with writing(services.sessions) as session:
                session.add(GuildSettings(guild_id=1))
                await session.commit()
            poller = OfficialPoller(services)
            await poller.prepare()
            api.bills = [bill_row(BILL, MOTION, proposed="2027-03-02")]
            result = await poller.poll_due()
            assert result is not None
            if allow_private:
                assert result.error is None and len(result.recorded) == 1
            else:
                assert result.error is not None and result.error.startswith("REFUSED")
                assert api.requests == []
        finally:
            await services.engine.dispose()


GUILD_BILL = "2299777"
GUILD_MOTION = "국무위원(외교부장관 가상인물) 해임건의안"


async def test_a_guild_tracked_motion_is_advanced_by_the_record_in_that_guild_only(
    standin: DiscordStandIn, database_url: str, tmp_path: Path
) -> None:
    """/track motion with a bill number: the official record advances the guild's own item,
    announced in that guild's updates channel and nowhere else."""
    mine, other = standin.add_guild("Korea Watchers"), standin.add_guild("Elsewhere")
    channels = {}
    for guild in (mine, other):
        admin = guild.add_member("Seo", roles=[guild.add_role("Admins", Perm.MANAGE_GUILD)])
        channels[guild.id] = (guild.channel_named("general"), guild.add_channel("updates"), admin)
    clock = Clock()
    async with (
        AssemblyStandIn(key=KEY) as api,
        running_bot(
            standin,
            database_url=database_url,
            tracker=tracker(tmp_path),
            clock=clock,
            allow_private_sources=True,
            na_open_api_key=KEY,
            na_open_api_base=api.base,
        ) as bot,
    ):
        for guild in (mine, other):
            general, updates, admin = channels[guild.id]
            await (
                await standin.invoke(
                    guild.id,
                    general,
                    admin,
                    "setup",
                    options={"purpose": "updates", "channel": updates},
                    subcommand="channel",
                )
            ).response(timeout=15)
        general, updates, admin = channels[mine.id]
        tracked = await (
            await standin.invoke(
                mine.id,
                general,
                admin,
                "track",
                subcommand="motion",
                options={"name": "Motion to dismiss the foreign minister", "bill_no": GUILD_BILL},
            )
        ).response(timeout=15)
        assert tracked.ephemeral is not None
        seen = await items_for(bot.services, mine.id)
        (item,) = [s for s in seen.specs if seen.is_own(s)]
        assert item.bill_no == GUILD_BILL
        api.bills = [
            bill_row(GUILD_BILL, GUILD_MOTION, proposed="2027-03-02", reported="2027-03-03")
        ]
        result = await bot.official.poll_due()
        assert result is not None and len(result.recorded) == 2
        assert {r.guild_id for r in result.recorded} == {mine.id}
        await bot.announcements.deliver()
        assert len(standin.messages(updates)) == 2
        assert standin.messages(channels[other.id][1]) == []
        shown = await (
            await standin.invoke(mine.id, general, admin, "timeline", options={"item": item.key})
        ).response(timeout=15)
        assert OFFICIAL_NAME in str(shown.embeds)
        clock.now += timedelta(minutes=16)
        again = await bot.official.poll_due()
        assert again is not None and again.recorded == ()
