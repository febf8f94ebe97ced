"""``python bot.py --web``: the web pages alone, without Discord, until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal

import httpx

from config.settings import Settings
from config.tracker import TrackerConfig
from runtime.startup import prepare_database
from services.build import build_services
from web.app import make_app
from web.serve import start_web

log = logging.getLogger(__name__)

HOST = "0.0.0.0"


async def run_web(settings: Settings, tracker: TrackerConfig, *, port: int) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # The pages fetch nothing; Services wants a client all the same.
    async with httpx.AsyncClient() as http:
        services = build_services(settings, tracker, http=http)
        try:
            # As --check does: the schema migrated, the items and their seeds in place.
            prepared = await prepare_database(
                services.engine, services.sessions, items=tracker.items
            )
            services.item_ids.update(prepared.item_ids)
            if services.changes is not None:
                # The bot's writes reach this process's caches at once (SPEC §6).
                await services.changes.start()
            server = await start_web(make_app(services), host=HOST, port=port)
            try:
                await stop.wait()
                log.info("stopping on signal")
            finally:
                await server.stop()
                if services.changes is not None:
                    await services.changes.stop()
        finally:
            await services.engine.dispose()
    return 0
