"""The parts the bot is built from, made once in bot.py and handed to everything that needs them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

from config.settings import Settings
from config.tracker import TrackerConfig
from services.readcache import ReadCache
from storage.engine import SessionFactory


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

    def __post_init__(self) -> None:
        self.reads = ReadCache(self.sessions)
