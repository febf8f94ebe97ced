"""Shared fixtures: a fresh database on each back end under test.

SQLite always; PostgreSQL too when TEST_DATABASE_URL names a server (CI sets it).
Each test gets a database of its own, so tests never see each other's rows.
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from config.settings import normalize_database_url
from config.tracker import load_tracker
from demo.harness import running_bot
from discordbot.bot import MotionwatchBot
from motionwatch_standin import DiscordStandIn, Guild
from storage.engine import SessionFactory, create_engine, session_factory
from storage.migrate import upgrade

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())


@pytest.fixture(autouse=True)
def no_write_outside_writing() -> Iterator[list[str]]:
    """Every SQLite write, the tests' own included, runs in a transaction begun as a writer."""
    handler = _Collect()
    logger = logging.getLogger("storage.engine")
    logger.addHandler(handler)
    try:
        yield handler.seen
    finally:
        logger.removeHandler(handler)
    assert not handler.seen, handler.seen


def _pg_admin_dsn() -> str:
    url = make_url(normalize_database_url(PG_URL))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def create_pg_database() -> str:
    """A new, empty PostgreSQL database on the test server; returns its asyncpg URL."""
    name = f"mw_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(_pg_admin_dsn())
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return (
        make_url(normalize_database_url(PG_URL))
        .set(database=name)
        .render_as_string(hide_password=False)
    )


async def drop_pg_database(url: str) -> None:
    name = make_url(url).database
    conn = await asyncpg.connect(_pg_admin_dsn())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'motionwatch.db'}"
        return
    url = await create_pg_database()
    try:
        yield url
    finally:
        await drop_pg_database(url)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = create_engine(database_url)
    try:
        yield eng
    finally:
        await eng.dispose()


@pytest.fixture
async def migrated(engine: AsyncEngine) -> AsyncEngine:
    await upgrade(engine)
    return engine


@pytest.fixture
def sessions(migrated: AsyncEngine) -> SessionFactory:
    return session_factory(migrated)


# -- the real bot against the stand-in ----------------------------------------------------------

E2E_NOW = datetime(2026, 11, 23, 9, tzinfo=ZoneInfo("Asia/Seoul"))


@dataclass
class World:
    standin: DiscordStandIn
    guild: Guild
    channel: int
    member: int
    bot: MotionwatchBot


@pytest.fixture
async def standin() -> AsyncIterator[DiscordStandIn]:
    async with DiscordStandIn() as server:
        yield server
        # Every test that talks to the stand-in also checks everything the bot sent.
        server.assert_no_violations()


@pytest.fixture
async def world(standin: DiscordStandIn, database_url: str) -> AsyncIterator[World]:
    guild = standin.add_guild("Korea Watchers")
    channel = next(iter(guild.channels))
    member = guild.add_member("Mina")
    async with running_bot(
        standin,
        database_url=database_url,
        tracker=load_tracker(ROOT / "config" / "tracker.toml"),
        clock=lambda: E2E_NOW,
    ) as bot:
        yield World(standin, guild, channel, member, bot)
