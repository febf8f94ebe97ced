"""A new motion in the official record offered once per guild, with "Track it" (SPEC §9).

The real bot against the Discord stand-in and the Open API stand-in, on both back ends:
offered in every news channel of a guild not following the bill (once, across polls and
a restart); "Track it" by a moderator starts the guild's own item linked to the bill,
which the next poll advances in that guild only; a member's click stores nothing.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from pathlib import Path

from sqlmodel import select

from demo.harness import running_bot
from motionwatch_standin import DiscordStandIn, Perm
from motionwatch_standin.assembly import AssemblyStandIn, bill_row
from news.http import feed_client
from official.bills import Bill
from render.offers import render_offer
from runtime.startup import prepare_database
from services.build import build_services
from services.errors import UserError
from services.items import items_for
from services.offers import track_offered, worth_offering
from services.official import OfficialPoller
from storage.engine import writing
from storage.models import Announcement, GuildSettings, OfficialBill
from tests.test_official import BILL, KEY, MOTION, START, settings, tracker
from tests.test_official_e2e import Clock
from views.offers import OfferView

NEW = "2299555"
NEW_MOTION = "국무위원(행정안전부장관 가상인물) 해임건의안"
OLD = "2299444"
OLD_MOTION = "국무위원(법무부장관 가상인물) 해임건의안"
LINK = f"https://likms.assembly.go.kr/bill/billDetail.do?billId=STANDIN_{NEW}"


def test_the_first_poll_offers_only_recent_motions() -> None:
    today = date(2027, 3, 6)
    recent = Bill(NEW, NEW_MOTION, proposed_on=date(2027, 2, 10))
    old = Bill(OLD, OLD_MOTION, proposed_on=date(2027, 1, 20))
    undated = Bill(OLD, OLD_MOTION)
    assert worth_offering(recent, first_poll=True, today=today)
    assert not worth_offering(old, first_poll=True, today=today)
    assert not worth_offering(undated, first_poll=True, today=today)
    # After the first poll, every motion seen for the first time is new.
    assert worth_offering(old, first_poll=False, today=today)
    assert not worth_offering(Bill(NEW, "예산안"), first_poll=False, today=today)


async def test_a_new_motion_is_offered_once_per_guild_and_tracked_by_a_moderator(
    standin: DiscordStandIn, database_url: str, tmp_path: Path
) -> None:
    first, second = standin.add_guild("Korea Watchers"), standin.add_guild("Seoul Desk")
    quiet, following = standin.add_guild("No News Here"), standin.add_guild("Already On It")
    rooms = {}
    for guild in (first, second, quiet, following):
        admin = guild.add_member("Seo", roles=[guild.add_role("Admins", Perm.MANAGE_GUILD)])
        rooms[guild.id] = (
            guild.channel_named("general"),
            guild.add_channel("news"),
            guild.add_channel("updates"),
            admin,
        )
    member = first.add_member("Kim")
    clock = Clock()
    config = tracker(tmp_path)  # a configured item follows BILL: nobody is offered it
    async with AssemblyStandIn(key=KEY) as api:
        async with running_bot(
            standin,
            database_url=database_url,
            tracker=config,
            clock=clock,
            allow_private_sources=True,
            na_open_api_key=KEY,
            na_open_api_base=api.base,
        ) as bot:
            for guild in (first, second, quiet, following):
                general, news, updates, admin = rooms[guild.id]
                purposes = [("updates", updates)]
                if guild is not quiet:
                    purposes.append(("news", news))
                for purpose, channel in purposes:
                    await (
                        await standin.invoke(
                            guild.id,
                            general,
                            admin,
                            "setup",
                            options={"purpose": purpose, "channel": channel},
                            subcommand="channel",
                        )
                    ).response(timeout=15)
            general, _, _, admin = rooms[following.id]
            await (
                await standin.invoke(
                    following.id,
                    general,
                    admin,
                    "track",
                    subcommand="motion",
                    options={"name": "Our own dismissal motion", "bill_no": NEW},
                )
            ).response(timeout=15)

            api.bills = [
                bill_row(NEW, NEW_MOTION, proposed="2027-03-02"),
                bill_row(OLD, OLD_MOTION, proposed="2026-12-01"),
                bill_row(BILL, MOTION, proposed="2027-03-03"),
            ]
            result = await bot.official.poll_due()
            assert result is not None and result.error is None
            # The first poll: the old motion is recorded as seen, not offered.
            assert result.offered == 2
            for guild in (first, second):
                (post,) = standin.messages(rooms[guild.id][1])
                assert post.custom_ids() == [f"track:{NEW}"]
                (embed,) = post.embeds
                # The record's text shown as written (Markdown escaped).
                assert NEW_MOTION in embed["description"].replace("\\", "")
                assert NEW in embed["description"]
                assert "2027-03-02" in embed["description"] and LINK in embed["description"]
                assert "<@" not in str(embed)
            for guild in (quiet, following):
                assert standin.messages(rooms[guild.id][1]) == []
            async with bot.services.sessions() as session:
                seen = {b.bill_no: b.offered for b in (await session.exec(select(OfficialBill)))}
            assert seen == {NEW: True, OLD: False, BILL: False}

            clock.now += timedelta(minutes=16)
            again = await bot.official.poll_due()
            assert again is not None and again.offered == 0
            assert [len(standin.messages(rooms[g.id][1])) for g in (first, second)] == [1, 1]

            # A member's click is refused, and nothing is stored.
            general, news, updates, admin = rooms[first.id]
            (post,) = standin.messages(news)
            refused = await (
                await standin.click(first.id, news, member, post, f"track:{NEW}")
            ).response(timeout=15)
            assert refused.ephemeral and refused.content is not None
            assert refused.content.startswith("Only moderators")
            assert not (await items_for(bot.services, first.id)).own

            clicked = await standin.click(first.id, news, admin, post, f"track:{NEW}")
            done = await clicked.response(timeout=15)
            assert done.type == 7  # the post itself is updated
            (confirmation,) = await clicked.wait_followups(1, timeout=15)
            assert "linked to bill" in (confirmation.content or "")
            seen_items = await items_for(bot.services, first.id)
            (item,) = [s for s in seen_items.specs if seen_items.is_own(s)]
            assert item.bill_no == NEW and item.name_ko == NEW_MOTION
            button = post.find_component(f"track:{NEW}")
            assert button is not None and button.get("disabled") is True
            assert f"<@{admin}>" in post.embeds[0]["description"]
            assert post.embeds[0]["footer"]["text"]  # the delivery's key stays
            await bot.after.drain()

            # The next poll records the bill's stages on the new item, in that guild only
            # (and on the other guild's own item that already followed it).
            announced = {g.id: len(standin.messages(rooms[g.id][2])) for g in (first, second)}
            clock.now += timedelta(minutes=16)
            api.bills = [bill_row(NEW, NEW_MOTION, proposed="2027-03-02", reported="2027-03-03")]
            advanced = await bot.official.poll_due()
            assert advanced is not None and advanced.offered == 0
            assert {(r.guild_id, r.item_id) for r in advanced.recorded} >= {
                (first.id, bot.services.item_ids[item.key])
            }
            assert {r.guild_id for r in advanced.recorded} == {first.id, following.id}
            assert len(standin.messages(updates)) == announced[first.id] + 2
            assert len(standin.messages(rooms[second.id][2])) == announced[second.id]
            # A guild that started following it by /track after the offer: already tracked.
            general, news2, _, admin2 = rooms[second.id]
            await (
                await standin.invoke(
                    second.id,
                    general,
                    admin2,
                    "track",
                    subcommand="motion",
                    options={"name": "Ours", "bill_no": NEW},
                )
            ).response(timeout=15)
            (offer_post,) = standin.messages(news2)
            again_clicked = await (
                await standin.click(second.id, news2, admin2, offer_post, f"track:{NEW}")
            ).response(timeout=15)
            assert again_clicked.ephemeral
            assert "already tracks bill" in (again_clicked.content or "")
            assert len((await items_for(bot.services, second.id)).own) == 1
            await bot.after.drain()
            posted_before = {g.id: len(standin.messages(rooms[g.id][1])) for g in (first, second)}

        # A restart: nothing offered again, nothing re-posted.
        clock.now += timedelta(minutes=16)
        async with running_bot(
            standin,
            database_url=database_url,
            tracker=config,
            clock=clock,
            allow_private_sources=True,
            na_open_api_key=KEY,
            na_open_api_base=api.base,
        ) as bot:
            restarted = await bot.official.poll_due()
            assert restarted is not None and restarted.offered == 0
            # (The second guild's own item, tracked since, gets its stages now.)
            assert {r.guild_id for r in restarted.recorded} == {second.id}
            await bot.announcements.deliver()
            after = {g.id: len(standin.messages(rooms[g.id][1])) for g in (first, second)}
            assert after == posted_before
            async with bot.services.sessions() as session:
                offers = (
                    await session.exec(select(Announcement).where(Announcement.kind == "offer"))
                ).all()
            assert sorted(o.guild_id for o in offers) == sorted([first.id, second.id])
            assert {o.state for o in offers} == {"posted"}


def test_the_offer_reads_in_korean_with_its_key_and_who_tracked_it() -> None:
    offer = OfferView(NEW, NEW_MOTION, date(2027, 3, 2), LINK)
    (embed,) = render_offer("ko", offer, announcement_id=7).embeds
    assert embed["title"].startswith("국회 새 의안")
    assert (
        "의안번호: 2299555" in embed["description"] and "제안일: 2027-03-02" in embed["description"]
    )
    assert embed["url"] == LINK and "7" in embed["footer"]["text"]
    hostile = OfferView(NEW, "[click](https://evil.example) @everyone", None, "javascript:x")
    (shown,) = render_offer("en", hostile, tracked_by=5, item_key="motion_9").embeds
    assert "](https://evil" not in shown["description"] and "url" not in shown
    assert "Tracked by <@5> as `motion_9`" in shown["description"]


async def test_two_moderators_tracking_at_once_make_one_item(
    database_url: str, tmp_path: Path
) -> None:
    config = tracker(tmp_path)
    async with (
        AssemblyStandIn(key=KEY) as api,
        feed_client(user_agent="motionwatch-test", allow_private=True, timeout=5) as http,
    ):
        services = build_services(settings(database_url, api.base), config, http=http)
        try:
            prepared = await prepare_database(
                services.engine, services.sessions, items=config.items
            )
            services.item_ids.update(prepared.item_ids)
            async with writing(services.sessions) as session:
                session.add(GuildSettings(guild_id=1, news_channel_id=10))
                await session.commit()
            poller = OfficialPoller(services)
            await poller.prepare()
            api.bills = [bill_row(NEW, NEW_MOTION, proposed="2027-03-02")]
            result = await poller.poll_due()
            assert result is not None and result.offered == 1
            outcomes = await asyncio.gather(
                *(
                    track_offered(services, guild_id=1, actor_id=a, bill_no=NEW, now=START)
                    for a in (100, 200)
                ),
                return_exceptions=True,
            )
            refused = [o for o in outcomes if isinstance(o, UserError)]
            assert len(refused) == 1 and refused[0].key == "track.bill_taken"
            assert len((await items_for(services, 1)).own) == 1
        finally:
            await services.engine.dispose()
