"""The one way to assemble Services: for the bot, the demo and tests, and the benchmarks."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

from config.settings import Settings
from config.tracker import TrackerConfig
from services.context import Services, system_clock
from storage.engine import create_engine, session_factory


def build_services(
    settings: Settings,
    tracker: TrackerConfig,
    *,
    http: httpx.AsyncClient,
    engine: AsyncEngine | None = None,
    scheduler: AsyncIOScheduler | None = None,
    clock: Callable[[], datetime] = system_clock,
    item_ids: Mapping[str, int] | None = None,
) -> Services:
    """Services over ``engine``, or over a new one for ``settings.database_url``.

    The caller disposes of the engine (``services.engine``) when done. ``item_ids`` are
    known only once the database is prepared; the bot fills them in its setup_hook.
    """
    engine = engine if engine is not None else create_engine(settings.database_url)
    services = Services(
        settings=settings,
        tracker=tracker,
        engine=engine,
        sessions=session_factory(engine),
        http=http,
        scheduler=scheduler if scheduler is not None else AsyncIOScheduler(timezone=UTC),
        clock=clock,
    )
    services.item_ids.update(item_ids or {})
    return services
