"""Running the real bot against the local stand-in, for the demo, the benchmarks and the tests."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from config.settings import DEFAULT_NA_OPEN_API_BASE, Settings
from config.tracker import TrackerConfig
from discordbot.bot import MotionwatchBot, point_at
from discordbot.sharding import make_bot
from motionwatch_standin import DiscordStandIn
from news.http import feed_client
from services.build import build_services
from services.context import system_clock


@contextlib.asynccontextmanager
async def running_bot(
    standin: DiscordStandIn,
    *,
    database_url: str,
    tracker: TrackerConfig,
    clock: Callable[[], datetime] = system_clock,
    dev_guild_id: int | None = None,
    allow_private_sources: bool = False,
    shard_count: int | None = None,
    shard_ids: Sequence[int] | None = None,
    ready_timeout: float = 15.0,
    web_port: int | None = None,
    public_url: str | None = None,
    na_open_api_key: str | None = None,
    na_open_api_base: str | None = None,
) -> AsyncIterator[MotionwatchBot]:
    """The real MotionwatchBot, logged in to ``standin`` and connected, until the block ends.

    ``web_port``: serve the web pages there too, as WEB_PORT does.
    """
    settings = Settings(
        _env_file=None,
        discord_token=standin.bot_token,
        database_url=database_url,
        discord_api_base=standin.api_base,
        discord_gateway_url=standin.gateway_url,
        tracker_config=tracker.path,
        dev_guild_id=dev_guild_id,
        allow_private_sources=allow_private_sources,
        shard_count=shard_count,
        shard_ids=None if shard_ids is None else tuple(shard_ids),
        web_port=web_port,
        public_url=public_url,
        na_open_api_key=na_open_api_key,
        na_open_api_base=na_open_api_base or DEFAULT_NA_OPEN_API_BASE,
    )
    point_at(settings.discord_api_base, settings.discord_gateway_url)
    # Jobs are added but never run on their own: the caller drives sweeps and polls,
    # with its own clock, so that nothing happens behind a test's back.
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start(paused=True)
    async with feed_client(
        user_agent="motionwatch-demo", allow_private=allow_private_sources, timeout=10
    ) as http:
        services = build_services(settings, tracker, http=http, scheduler=scheduler, clock=clock)
        # discord.py waits this long after the last GUILD_CREATE before READY; the stand-in
        # sends them all at once, so a short wait is enough.
        bot = make_bot(services, guild_ready_timeout=0.05)
        try:
            await bot.login(standin.bot_token)
            connection = asyncio.create_task(bot.connect(reconnect=True), name="bot-gateway")
            ready = asyncio.create_task(bot.wait_until_ready())
            done, _ = await asyncio.wait(
                {connection, ready}, timeout=ready_timeout, return_when=asyncio.FIRST_COMPLETED
            )
            if connection in done:
                connection.result()  # it ended before READY: show why
            if ready not in done:
                ready.cancel()
                raise TimeoutError("the bot did not become ready against the stand-in")
            try:
                yield bot
            finally:
                await bot.close()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(connection, timeout=5)
        finally:
            if not bot.is_closed():
                await bot.close()
            await services.engine.dispose()
