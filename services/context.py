"""The parts the bot is built from, made once in bot.py and handed to everything that needs them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from config.settings import Settings
from config.tracker import TrackerConfig
from services.guilds import GuildSettingsCache
from services.readcache import ReadCache
from storage.engine import SessionFactory
from storage.notify import ChangeFeed, Scope, publish

log = logging.getLogger(__name__)

# How long a cached read may be served (SPEC §6: every process sees every other's
# writes within 2 s). Without notifications (SQLite, or PostgreSQL while the LISTEN
# connection is down) this alone bounds staleness: a read that starts just before
# another process commits is served for BRIEF_CACHE_SECONDS, plus the read itself.
# A settings row costs ~0.1 ms to read on SQLite and a /status miss ~1 ms, so even
# one read a second per guild and item is cheap.
BRIEF_CACHE_SECONDS = 1.0
# While notifications arrive, entries live this long: a safety net, not the bound.
NOTIFIED_CACHE_SECONDS = 60.0


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    tracker: TrackerConfig
    engine: AsyncEngine
    sessions: SessionFactory
    http: httpx.AsyncClient
    scheduler: AsyncIOScheduler
    # Every "now" the bot uses comes from here, so tests can put it at any instant.
    clock: Callable[[], datetime] = system_clock
    item_ids: dict[str, int] = field(default_factory=dict)
    reads: ReadCache = field(init=False)
    guild_settings: GuildSettingsCache = field(init=False)
    # PostgreSQL only; started by the bot (setup_hook) and stopped when it closes.
    changes: ChangeFeed | None = field(init=False)

    def __post_init__(self) -> None:
        self.reads = ReadCache(self.sessions, ttl=BRIEF_CACHE_SECONDS)
        self.guild_settings = GuildSettingsCache(self.sessions, ttl=BRIEF_CACHE_SECONDS)
        self.changes = None
        if self.engine.dialect.name == "postgresql":
            self.changes = ChangeFeed(
                self.engine.url,
                on_change=self.forget,
                on_reset=self.forget_all,
                on_listening=self._listening,
            )

    async def changed(self, session: AsyncSession, *scopes: Scope) -> None:
        """Call inside a writing transaction, before its commit, for what it changes.

        Once it commits, this process drops what it cached of ``scopes`` and, on
        PostgreSQL, every other process hears of it and does the same. One call for
        both, so that no write path can do one without the other.
        """

        def committed() -> None:
            for scope in scopes:
                self.forget(scope)

        await publish(session, scopes, on_commit=committed)

    def forget(self, scope: Scope) -> None:
        if scope.kind == "settings":
            self.guild_settings.forget(scope.id)
        else:
            self.reads.invalidate(scope.id, guild_id=scope.guild_id)

    def forget_all(self) -> None:
        self.guild_settings.forget_all()
        self.reads.invalidate()

    def _listening(self, listening: bool) -> None:
        ttl = NOTIFIED_CACHE_SECONDS if listening else BRIEF_CACHE_SECONDS
        log.debug("caches now kept %.0f s (notifications %s)", ttl, "on" if listening else "off")
        self.reads.ttl = self.guild_settings.ttl = ttl
