"""The stand-in at scale, with real discord.py clients: sharded gateway sessions,
the enforce_nonce window, message history paging and REST rate limits."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import discord
import pytest
import yarl
from discord.ext import commands
from discord.gateway import DiscordWebSocket
from discord.http import Route

from motionwatch_standin import (
    DiscordStandIn,
    RateLimits,
    RouteLimit,
    StandInUsageError,
    shard_of,
)
from motionwatch_standin.ratelimits import MESSAGE_ROUTE
from tests.test_standin import connected

# -- a tiny bot --------------------------------------------------------------------


class ScaleBot(commands.Bot):
    def __init__(self, shard_id: int | None = None, shard_count: int | None = None) -> None:
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=discord.Intents.default(),
            allowed_mentions=discord.AllowedMentions.none(),
            guild_ready_timeout=0.05,
            shard_id=shard_id,
            shard_count=shard_count,
        )
        self.seen_messages: list[int] = []
        self._news = asyncio.Event()

    async def setup_hook(self) -> None:
        @self.tree.command(name="ping", description="Answer with the shard")
        async def ping(interaction: discord.Interaction) -> None:
            await interaction.response.send_message(f"pong from shard {self.shard_id}")

        await self.tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        if message.author.bot:
            return  # its own replies echo back too
        self.seen_messages.append(message.id)
        self._news.set()

    async def wait_seen(self, message_id: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while message_id not in self.seen_messages:
                self._news.clear()
                await self._news.wait()


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn() as server:
        yield server
        server.assert_no_violations()


@pytest.fixture(autouse=True)
def pointed_at_standin(standin: DiscordStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Route, "BASE", standin.api_base)
    monkeypatch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(standin.gateway_url))


async def text_channel(client: ScaleBot, channel_id: int) -> discord.TextChannel:
    channel = client.get_channel(channel_id)
    assert isinstance(channel, discord.TextChannel)
    return channel


# -- sharding ------------------------------------------------------------------------


async def test_each_shard_gets_only_its_guilds_events_and_interactions(
    standin: DiscordStandIn,
) -> None:
    zero_a = standin.add_guild("zero a", shard=(0, 2))
    one_a = standin.add_guild("one a", shard=(1, 2))
    zero_b = standin.add_guild("zero b", shard=(0, 2))
    assert [shard_of(g.id, 2) for g in (zero_a, one_a, zero_b)] == [0, 1, 0]
    user = {g.id: g.add_member("mina") for g in (zero_a, one_a, zero_b)}

    async with (
        connected(standin, ScaleBot(0, 2)) as shard0,
        connected(standin, ScaleBot(1, 2)) as shard1,
    ):
        assert [p["shard"] for p in standin.identify_payloads] == [[0, 2], [1, 2]]
        # READY listed, and GUILD_CREATE brought, only the shard's own guilds.
        assert {g.id for g in shard0.guilds} == {zero_a.id, zero_b.id}
        assert {g.id for g in shard1.guilds} == {one_a.id}
        assert all(not g.unavailable for g in [*shard0.guilds, *shard1.guilds])

        async def ping(guild_id: int, via: int | None = None) -> tuple[int | None, str | None]:
            channel = standin.guild(guild_id).channel_named("general")
            interaction = await standin.invoke(guild_id, channel, user[guild_id], "ping", via=via)
            return interaction.session, (await interaction.response()).content

        assert await ping(zero_a.id) == (1, "pong from shard 0")
        assert await ping(one_a.id) == (2, "pong from shard 1")
        assert await ping(zero_b.id, via=1) == (1, "pong from shard 0")
        with pytest.raises(StandInUsageError, match="does not own guild"):
            await ping(one_a.id, via=1)

        # Guild-scoped dispatches reach only the owning shard; each session's events
        # are in order, so the last message shows the earlier ones were not sent to it.
        late = standin.add_guild("late", shard=(1, 2))
        user[late.id] = late.add_member("jun")
        in_one = await standin.post_message(one_a.channel_named("general"), user[one_a.id], "1")
        in_late = await standin.post_message(late.channel_named("general"), user[late.id], "L")
        in_zero = await standin.post_message(zero_a.channel_named("general"), user[zero_a.id], "0")
        await shard0.wait_seen(in_zero.id)
        await shard1.wait_seen(in_late.id)
        assert shard0.seen_messages == [in_zero.id]
        assert shard1.seen_messages == [in_one.id, in_late.id]
        assert shard0.get_guild(late.id) is None
        assert shard1.get_guild(late.id) is not None
        assert await ping(late.id) == (2, "pong from shard 1")


async def test_invalid_shard_closes_with_4010(standin: DiscordStandIn) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{standin.gateway_url}?v=10&encoding=json") as ws,
    ):
        await ws.receive_json(timeout=5)
        identify = {"token": standin.bot_token, "intents": 1, "shard": [2, 2]}
        await ws.send_json({"op": 2, "d": identify})
        closing = await ws.receive(timeout=5)
        assert closing.type is aiohttp.WSMsgType.CLOSE and ws.close_code == 4010
    assert "invalid shard [2, 2]" in standin.violations[0]
    standin.clear_violations()


async def test_unsharded_session_still_sees_every_guild(standin: DiscordStandIn) -> None:
    guilds = {standin.add_guild(f"g{i}", shard=(i % 3, 3)).id for i in range(3)}
    async with connected(standin, ScaleBot()) as bot:
        assert {g.id for g in bot.guilds} == guilds


# -- enforce_nonce ---------------------------------------------------------------------


async def test_repeated_nonce_returns_the_earlier_message_only_within_the_window(
    standin: DiscordStandIn,
) -> None:
    assert standin.nonce_window == 300.0  # Discord's "few minutes"
    standin.set_nonce_window(1.0)
    guild = standin.add_guild()
    channel_id = guild.channel_named("general")
    async with connected(standin, ScaleBot()) as bot:
        channel = await text_channel(bot, channel_id)
        first = await channel.send("report", nonce="n-1")
        again = await channel.send("report (retry)", nonce="n-1")
        other = await channel.send("other", nonce="n-2")
        assert again.id == first.id and again.content == "report"
        assert other.id != first.id
        assert [m.content for m in standin.messages(channel_id)] == ["report", "other"]

        await asyncio.sleep(1.05)  # past the 1 s window
        later = await channel.send("report (much later)", nonce="n-1")
        assert later.id not in (first.id, other.id)
        assert len(standin.messages(channel_id)) == 3
        # The window starts again from the new message.
        assert (await channel.send("dup", nonce="n-1")).id == later.id


async def test_nonce_window_set_at_construction() -> None:
    async with DiscordStandIn(nonce_window=2.5) as server:
        assert server.nonce_window == 2.5
        with pytest.raises(ValueError, match=">= 0"):
            server.set_nonce_window(-1)


# -- history -------------------------------------------------------------------------


async def test_history_pages_with_before_after_around_and_limit(
    standin: DiscordStandIn,
) -> None:
    guild = standin.add_guild()
    channel_id = guild.channel_named("general")
    user = guild.add_member("mina")
    async with connected(standin, ScaleBot()) as bot:
        channel = await text_channel(bot, channel_id)
        # 120 user messages, then three of the bot's with embeds: more than one page.
        posted = [await standin.post_message(channel_id, user, f"m{i}") for i in range(120)]
        for i in range(3):
            embed = discord.Embed(title=f"report {i}").set_footer(text=f"page {i}")
            posted.append(standin.message((await channel.send(embed=embed)).id))
        ids = [m.id for m in posted]

        newest = [m async for m in channel.history(limit=5)]
        assert [m.id for m in newest] == ids[::-1][:5]
        assert [(e.title, e.footer.text) for m in newest[:3] for e in m.embeds] == [
            ("report 2", "page 2"),
            ("report 1", "page 1"),
            ("report 0", "page 0"),
        ]
        # limit=None pages with `before` (100, then 23).
        everything = [m.id async for m in channel.history(limit=None)]
        assert everything == ids[::-1]
        before = [m.id async for m in channel.history(before=discord.Object(ids[50]), limit=3)]
        assert before == [ids[49], ids[48], ids[47]]
        # `after` pages oldest first in discord.py; Discord answers newest first.
        after = [m.id async for m in channel.history(after=discord.Object(ids[10]), limit=150)]
        assert after == ids[11:]
        raw = await bot.http.logs_from(channel_id, 3, after=ids[10])
        assert [int(m["id"]) for m in raw] == [ids[13], ids[12], ids[11]]
        around = [m.id async for m in channel.history(around=discord.Object(ids[60]), limit=5)]
        assert sorted(around) == ids[58:63]
        assert [int(m["id"]) for m in await bot.http.logs_from(channel_id, 1, around=ids[7])] == [
            ids[7]
        ]
        assert len(await bot.http.logs_from(channel_id, 50)) == 50  # discord.py's page size

        with pytest.raises(discord.HTTPException) as too_many:
            await bot.http.logs_from(channel_id, 101)
        assert too_many.value.status == 400
        with pytest.raises(discord.HTTPException):
            await bot.http.logs_from(channel_id, 5, before=ids[5], after=ids[1])
        assert len(standin.violations) == 2
        assert "limit: '101'" in standin.violations[0]
        assert "only one of around, before, after" in standin.violations[1]
        standin.clear_violations()


# -- rate limits ----------------------------------------------------------------------


@asynccontextmanager
async def raw_client(standin: DiscordStandIn) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bot {standin.bot_token}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        yield session


async def test_message_bucket_answers_429_with_discords_headers(standin: DiscordStandIn) -> None:
    assert standin.rate_limits is None  # off by default
    standin.set_rate_limits(True)
    guild = standin.add_guild(channels=("one", "two"))
    body = {"content": "hi", "allowed_mentions": {"parse": []}}

    async def post(channel: str) -> aiohttp.ClientResponse:
        url = f"{standin.api_base}/channels/{guild.channel_named(channel)}/messages"
        async with session.post(url, json=body) as response:
            await response.read()
            return response

    async with raw_client(standin) as session:
        answers = [await post("one") for _ in range(5)]
        assert [r.status for r in answers] == [200] * 5
        assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["4", "3", "2", "1", "0"]
        assert {r.headers["X-RateLimit-Limit"] for r in answers} == {"5"}
        assert len({r.headers["X-RateLimit-Bucket"] for r in answers}) == 1
        assert 0 < float(answers[-1].headers["X-RateLimit-Reset-After"]) <= 5
        assert float(answers[-1].headers["X-RateLimit-Reset"]) > time.time()

        url = f"{standin.api_base}/channels/{guild.channel_named('one')}/messages"
        async with session.post(url, json=body) as limited:
            assert limited.status == 429
            refusal = await limited.json()
            headers = limited.headers
        assert refusal["message"] == "You are being rate limited."
        assert refusal["global"] is False and 0 < refusal["retry_after"] <= 5
        assert headers["X-RateLimit-Scope"] == "user"
        assert "X-RateLimit-Global" not in headers
        assert int(headers["Retry-After"]) >= refusal["retry_after"]
        assert headers["X-RateLimit-Remaining"] == "0"
        assert "Via" in headers  # without it discord.py takes the 429 for a Cloudflare ban
        # Another channel is another bucket.
        assert (await post("two")).status == 200
    assert len(standin.messages(guild.channel_named("one"))) == 5
    stats = standin.rate_limit_stats
    assert (stats.requests, stats.limited, stats.global_limited) == (7, 1, 0)


async def test_global_limit_answers_429_global(standin: DiscordStandIn) -> None:
    standin.set_rate_limits(RateLimits(global_limit=3, global_window=5.0))
    async with raw_client(standin) as session:
        statuses = []
        for _ in range(4):
            async with session.get(f"{standin.api_base}/users/@me") as response:
                statuses.append(response.status)
                last, headers = await response.json(), response.headers
    assert statuses == [200, 200, 200, 429]
    assert last["global"] is True and 0 < last["retry_after"] <= 5
    assert headers["X-RateLimit-Global"] == "true"
    assert headers["X-RateLimit-Scope"] == "global"
    assert "Retry-After" in headers
    assert standin.rate_limit_stats.global_limited == 1
    standin.set_rate_limits(False)
    assert standin.rate_limits is None


async def test_discordpy_sends_60_messages_through_the_global_limit() -> None:
    async with DiscordStandIn(rate_limits=True) as standin:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(Route, "BASE", standin.api_base)
            patch.setattr(DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(standin.gateway_url))
            guild = standin.add_guild(channels=[f"c{i}" for i in range(30)])
            async with connected(standin, ScaleBot()) as bot:
                channels = [await text_channel(bot, c) for c in guild.channels]
                # Two per channel: discord.py counts requests in flight twice, so a burst
                # nearer a bucket's 5 makes it wait out the 5 s window (as on Discord).
                # 60 at once exceed 50 per second.
                sends = [c.send(f"{c.name} #{i}") for c in channels for i in range(2)]
                sent = await asyncio.wait_for(asyncio.gather(*sends), 15)
        assert len({m.id for m in sent}) == 60
        assert sum(len(standin.messages(c)) for c in guild.channels) == 60
        stats = standin.rate_limit_stats
        assert stats.global_limited > 0, stats
        assert stats.requests >= 60 + stats.limited
        standin.assert_no_violations()


async def test_discordpy_waits_out_a_message_bucket(standin: DiscordStandIn) -> None:
    standin.set_rate_limits(RateLimits(routes={MESSAGE_ROUTE: RouteLimit(5, 0.5)}))
    guild = standin.add_guild()
    channel_id = guild.channel_named("general")
    async with connected(standin, ScaleBot()) as bot:
        channel = await text_channel(bot, channel_id)
        started = time.monotonic()
        sent = await asyncio.wait_for(
            asyncio.gather(*(channel.send(f"#{i}") for i in range(15))), 10
        )
        took = time.monotonic() - started
    assert sorted(m.content for m in standin.messages(channel_id)) == sorted(
        m.content for m in sent
    )
    assert len(sent) == 15
    # Three windows of five: discord.py honoured the bucket (waiting, or retrying a 429).
    assert took >= 0.9


async def test_rate_limits_are_off_by_default(standin: DiscordStandIn) -> None:
    guild = standin.add_guild()
    async with connected(standin, ScaleBot()) as bot:
        channel = await text_channel(bot, guild.channel_named("general"))
        await asyncio.gather(*(channel.send(f"#{i}") for i in range(12)))
    stats = standin.rate_limit_stats
    assert stats.limited == 0 and stats.requests >= 12
