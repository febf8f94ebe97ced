"""The bot: a commands.Bot given its parts (dependency injection), doing start-up in setup_hook."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import discord
import yarl
from discord import app_commands
from discord.ext import commands

from discordbot.after import AfterChanges
from discordbot.announce import find_announcement, post_announcement
from discordbot.errors import on_app_command_error
from discordbot.news import NewsButton, edit_news, find_news, post_news, warn_disabled
from discordbot.offers import TrackButton
from discordbot.official import warn_official_disabled
from discordbot.reminders import find_reminder, post_reminder
from discordbot.sync import sync_if_changed
from discordbot.translator import CatalogTranslator
from runtime.startup import prepare_database
from services.announcements import Announcements
from services.context import Services
from services.news import NewsPoller
from services.official import OfficialPoller, Recorded
from services.reminders import Reminders
from web.app import make_app
from web.serve import WebServer, start_web

log = logging.getLogger(__name__)

# Due reminders are posted within this many seconds (SPEC §5 asks for 60).
SWEEP_SECONDS = 20
# Deadlines also move with time (a new renewal cycle); a change whose own re-plan was
# lost (its process stopped first) is caught up too.
REPLAN_SECONDS = 300
# Each source has its own next_poll_at; the tick looks for the due ones at least this often.
NEWS_TICK_SECONDS = 30
# Announcements a change's follow-up did not post (it failed, or Discord answered 5xx)
# and those a crash left half-sent are posted or settled at least this often.
ANNOUNCE_SECONDS = 30
# How long a stop waits for a running poll or sweep to finish.
JOB_GRACE_SECONDS = 20

# The web pages listen on every interface: a platform routes to the container's address.
WEB_HOST = "0.0.0.0"

# The cogs, loaded in this order; one explicit list, no directory scanning.
COGS = (
    "cogs.status",
    "cogs.timeline",
    "cogs.about",
    "cogs.update",
    "cogs.deadline",
    "cogs.setup",
    "cogs.source",
    "cogs.export",
    "cogs.track",
)


def point_at(api_base: str | None, gateway_url: str | None) -> None:
    """Send discord.py's REST and gateway traffic to a proxy or a local stand-in.

    discord.py keeps both as class attributes (one Discord per process), so this is
    process-wide; it must run before the bot logs in.
    """
    if api_base:
        discord.http.Route.BASE = api_base.rstrip("/")
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


class MotionwatchTree(app_commands.CommandTree["MotionwatchBot"]):
    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError, /
    ) -> None:
        await on_app_command_error(interaction, error)


class MotionwatchBot(commands.Bot):
    def __init__(self, services: Services, **options: Any) -> None:
        intents = discord.Intents.none()
        intents.guilds = True
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            help_command=None,
            # Nothing the bot sends may ping anyone unless a message says so explicitly.
            allowed_mentions=discord.AllowedMentions.none(),
            tree_cls=MotionwatchTree,
            **options,
        )
        self.services = services
        self.guild_settings = services.guild_settings
        self.started_monotonic = time.monotonic()
        self.synced: list[str] = []
        self._running: set[asyncio.Task[Any]] = set()
        # Until setup_hook has finished, a stop cancels it (bot.py): a close() beside it
        # would let it start the scheduler on an engine already being disposed.
        self.set_up = False
        # The web pages (SPEC §8), when WEB_PORT is set; started in setup_hook.
        self.web: WebServer | None = None
        self.news = NewsPoller(
            services,
            post=lambda out: post_news(self, out),
            edit=lambda out: edit_news(self, out),
            warn=lambda guild, channel, source: warn_disabled(self, guild, channel, source),
            find=lambda post: find_news(self, post),
        )
        self.announcements = Announcements(
            services,
            send=lambda out: post_announcement(self, out),
            find=lambda out: find_announcement(self, out),
        )
        self.after = AfterChanges(self)
        # The official record (SPEC §9): polled only when NA_OPEN_API_KEY is set.
        self.official = OfficialPoller(
            services,
            warn=lambda guild, channel, source: warn_official_disabled(
                self, guild, channel, source
            ),
            on_change=self._official_changed,
        )
        self.reminders = Reminders(
            services,
            lambda due, late: post_reminder(self, due, late),
            find=lambda due, since: find_reminder(self, due, since),
            process=f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}",
        )

    @property
    def last_poll(self) -> datetime | None:
        return self.news.last_poll

    @property
    def uptime(self) -> timedelta:
        return timedelta(seconds=time.monotonic() - self.started_monotonic)

    def now(self) -> datetime:
        return self.services.clock().astimezone(UTC)

    async def setup_hook(self) -> None:
        # Runs once per process, before the gateway connects (on_ready runs on every reconnect).
        services = self.services
        prepared = await prepare_database(
            services.engine, services.sessions, items=services.tracker.items
        )
        services.item_ids.update(prepared.item_ids)
        port = services.settings.web_port
        if port is not None:
            # Once the items are known, and before the gateway: a platform that set PORT
            # expects it answered soon after the start.
            app = make_app(services, started_at=self.now() - self.uptime)
            self.web = await start_web(app, host=WEB_HOST, port=port)
        await self.tree.set_translator(CatalogTranslator())
        for name in COGS:
            await self.load_extension(name)
        assert self.application_id is not None
        self.synced = await sync_if_changed(
            self.tree,
            services.sessions,
            application_id=self.application_id,
            dev_guild_id=services.settings.dev_guild_id,
        )
        await self.reminders.replan()
        # What fell due while the bot was down, and what a crash left half-sent.
        await self.reminders.finish_unfinished()
        await self.reminders.sweep()
        await self.news.sync_config_sources()
        self.add_dynamic_items(NewsButton, TrackButton)
        # Stories stored but not posted before a stop or a crash (resent with their nonce).
        await self.news.deliver(after_crash=True)
        # Announcements of changes made before a stop or a crash, and those left half-sent.
        await self.announcements.deliver(after_crash=True)
        if services.changes is not None:
            # Other processes' writes reach this one's caches from here on (SPEC §6).
            await services.changes.start()
        scheduler = services.scheduler
        scheduler.add_job(
            self._scheduled(self.news.poll_due),
            "interval",
            seconds=min(NEWS_TICK_SECONDS, services.settings.news_poll_seconds),
            id="news:poll",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC),
        )
        scheduler.add_job(
            self._scheduled(self.reminders.sweep),
            "interval",
            seconds=SWEEP_SECONDS,
            id="reminders:sweep",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        scheduler.add_job(
            self._scheduled(self.reminders.replan),
            "interval",
            seconds=REPLAN_SECONDS,
            id="reminders:replan",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        scheduler.add_job(
            self._scheduled(self.announcements.deliver),
            "interval",
            seconds=ANNOUNCE_SECONDS,
            id="announcements:deliver",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        if self.official.enabled:
            await self.official.prepare()
            self.official.schedule(self._scheduled)
        if not scheduler.running:
            scheduler.start()
        self.set_up = True
        log.info("ready to connect: %d cogs, %d items", len(COGS), len(prepared.item_ids))

    async def _official_changed(self, recorded: Sequence[Recorded]) -> None:
        """What an official stage moves: the reminders of its scope, then its announcements."""
        for item_id, guild_id in sorted({(r.item_id, r.guild_id or 0) for r in recorded}):
            if guild_id:
                await self.reminders.replan_guild(guild_id)
            else:
                await self.reminders.replan_item(item_id)
        await self.announcements.deliver()

    def _scheduled(self, job: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        """A scheduler job that a shutdown lets finish rather than cuts off mid-write."""

        async def run() -> None:
            task = asyncio.current_task()
            assert task is not None
            self._running.add(task)
            try:
                await job()
            finally:
                self._running.discard(task)

        return run

    async def close(self) -> None:
        scheduler = self.services.scheduler
        if scheduler.running:
            # No new runs; APScheduler's shutdown would cancel the running ones mid-write,
            # so a poll or sweep in progress finishes its database work first.
            scheduler.pause()
            if self._running:
                await asyncio.wait(set(self._running), timeout=JOB_GRACE_SECONDS)
            scheduler.shutdown(wait=False)
        try:
            # Stories the last poll stored go out now, or stay pending for the next start;
            # what follows a change (a re-plan, an announcement) finishes too.
            await asyncio.wait_for(
                asyncio.gather(self.news.drain(), self.after.drain()), JOB_GRACE_SECONDS
            )
        except TimeoutError:
            log.warning("stopping with work unfinished; news posts wait for the next start")
        if self.web is not None:
            await self.web.stop()
            self.web = None
        if self.services.changes is not None:
            await self.services.changes.stop()
        await super().close()
