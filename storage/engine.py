"""The async engine and sessions, for SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

SessionFactory = async_sessionmaker[AsyncSession]
log = logging.getLogger(__name__)


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # The driver would only BEGIN before DML, leaving DDL outside any transaction;
    # we emit BEGIN ourselves (see _sqlite_begin), as SQLAlchemy's SQLite docs advise.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # Foreign keys are off by default in SQLite; WAL lets readers run beside the one writer.
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # WAL is a property of the file, set once. Setting it again on every new connection
    # needs a lock, and so waits behind any open write transaction.
    cursor.execute("PRAGMA journal_mode")
    if str(cursor.fetchone()[0]).lower() != "wal":
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
        except Exception:
            # Another process starting on the same new file switched it first and now
            # holds a lock (switching does not wait on busy_timeout): WAL is set all the same.
            cursor.execute("PRAGMA journal_mode")
            if str(cursor.fetchone()[0]).lower() != "wal":
                raise
    # In WAL, NORMAL syncs at checkpoints rather than at every commit: a commit survives
    # the process crashing (what the bot's guarantees are tested against), and only an
    # operating-system crash or power loss can take back the last few; FULL would add a
    # disk flush to every moderator's reply.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # IMMEDIATE takes the write lock up front: two processes migrating at once then
    # queue on busy_timeout instead of both reading and failing to upgrade their locks.
    immediate = conn.get_execution_options().get("sqlite_immediate", False)
    conn.info["sqlite_immediate"] = immediate
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sqlite_write_check(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
    # A write in a transaction begun as a reader works alone but fails under load
    # ("database is locked", see writing()); say so where it happens, whoever hits it.
    if statement.lstrip()[:6].upper() in _WRITES and not conn.info.get("sqlite_immediate"):
        log.warning("SQLite write outside writing(): %s", statement.split("\n", 1)[0][:80])


_WRITES = frozenset({"INSERT", "UPDATE", "DELETE"})


class DataDirectoryError(OSError):
    """The directory a SQLite database file goes in does not exist and cannot be created."""

    def __init__(self, directory: Path, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause), str(directory))
        self.directory = directory


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            directory = Path(database).parent
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DataDirectoryError(directory, exc) from exc
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        event.listen(engine.sync_engine, "before_cursor_execute", _sqlite_write_check)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


def backend_label(engine: AsyncEngine) -> str:
    return {"sqlite": "SQLite", "postgresql": "PostgreSQL"}.get(
        engine.dialect.name, engine.dialect.name
    )


@asynccontextmanager
async def writing(sessions: SessionFactory) -> AsyncIterator[AsyncSession]:
    """A session for a unit of work that writes: its transaction begins as a writer.

    On SQLite a transaction that begins as a reader and then writes fails at once with
    "database is locked" when another connection committed meanwhile (it cannot upgrade
    a stale snapshot), instead of waiting its turn; so every writing unit uses this.
    There it is BEGIN IMMEDIATE; other back ends ignore the option.
    """
    async with _writer_turn(sessions), sessions() as session:
        await session.connection(execution_options={"sqlite_immediate": True})
        yield session


def _writer_turn(sessions: SessionFactory) -> contextlib.AbstractAsyncContextManager[object]:
    # One writer at a time within the process on SQLite, queued fairly on the event loop;
    # other processes still queue on busy_timeout. Left to SQLite's busy handler alone, a
    # writer that has waited long retries seldom and newcomers overtake it, until it
    # gives up with "database is locked" (seen with 16 polls writing at once).
    engine = sessions.kw.get("bind")
    if not isinstance(engine, AsyncEngine) or engine.dialect.name != "sqlite":
        return contextlib.nullcontext()
    return _WRITERS.setdefault(engine.sync_engine, asyncio.Lock())


_WRITERS: weakref.WeakKeyDictionary[Engine, asyncio.Lock] = weakref.WeakKeyDictionary()
