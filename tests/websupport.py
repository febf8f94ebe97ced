"""The web pages served for real on loopback over a fresh store, for the web tests."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import aiohttp
import httpx
import pytest

from config.settings import Settings
from config.tracker import load_tracker
from runtime.startup import prepare_database
from services.build import build_services
from services.context import Services
from tests.conftest import E2E_NOW
from web.app import make_app
from web.serve import WebServer, start_web

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Site:
    services: Services
    server: WebServer
    client: aiohttp.ClientSession
    database_url: str

    @property
    def url(self) -> str:
        return self.server.url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def site(database_url: str) -> AsyncIterator[Site]:
    settings = Settings(_env_file=None, database_url=database_url)
    tracker = load_tracker(ROOT / "config" / "tracker.toml")

    def clock() -> datetime:
        return E2E_NOW

    async with httpx.AsyncClient() as http:
        services = build_services(settings, tracker, http=http, clock=clock)
        try:
            prepared = await prepare_database(
                services.engine, services.sessions, items=tracker.items
            )
            services.item_ids.update(prepared.item_ids)
            server = await start_web(make_app(services), host="127.0.0.1", port=0)
            try:
                async with aiohttp.ClientSession(base_url=server.url) as client:
                    yield Site(services, server, client, database_url)
            finally:
                await server.stop()
        finally:
            await services.engine.dispose()
