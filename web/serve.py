"""Running the web application on a port: beside the bot (its setup_hook) or alone (--web)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from aiohttp import web

log = logging.getLogger(__name__)

# Requests still running when the server stops get this long to finish.
SHUTDOWN_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class WebServer:
    runner: web.AppRunner
    host: str
    port: int

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in {"0.0.0.0", ""} else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        await self.runner.cleanup()
        log.info("web pages stopped")


async def start_web(app: web.Application, *, host: str, port: int) -> WebServer:
    """Serve ``app`` on ``host``:``port`` (0: any free port; the server says which)."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_SECONDS)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1] if runner.addresses else port
    log.info("web pages on %s:%d", host, bound)
    return WebServer(runner, host, int(bound))
