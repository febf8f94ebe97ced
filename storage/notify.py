"""Telling every process what changed, so that each drops what it cached (SPEC §6: 2 s).

On PostgreSQL a writer publishes each change with ``NOTIFY motionwatch, '<scope>'``
inside its own transaction: PostgreSQL delivers a notification only when, and only
if, that transaction commits, so nobody hears of a change it cannot yet read. Every
process (the writer too; it is harmless) holds one dedicated connection that LISTENs
and hands each scope to its caches. A notification sent while that connection was down
is lost, so every (re)connect drops everything cached.

SQLite has no such channel: there the caches are bounded in time instead.

Payloads are small and structured: ``settings:<guild>`` (a guild's settings),
``item:<item>`` (an item's shared history: every guild's reads of it) and
``item:<item>:<guild>`` (one guild's reads of an item).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import asyncpg
from sqlalchemy import event, text
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session
from sqlmodel.ext.asyncio.session import AsyncSession

log = logging.getLogger(__name__)

CHANNEL = "motionwatch"
# Back-off between reconnect attempts of the listener: the first, and the cap.
FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 30.0
# A connection that died without a word (a half-open TCP connection) is found by a
# query this often; a terminated backend or a closed socket is noticed at once.
HEALTH_SECONDS = 15.0
CONNECT_TIMEOUT_SECONDS = 10.0

Kind = Literal["settings", "item"]


@dataclass(frozen=True, slots=True)
class Scope:
    """What a change touched: a guild's settings, or an item's reads (one guild's or all)."""

    kind: Kind
    id: int
    guild_id: int | None = None

    @classmethod
    def settings(cls, guild_id: int) -> Scope:
        return cls("settings", guild_id)

    @classmethod
    def item(cls, item_id: int, guild_id: int | None = None) -> Scope:
        """``guild_id`` None: the shared history changed, which every guild reads."""
        return cls("item", item_id, guild_id)

    @property
    def payload(self) -> str:
        tail = "" if self.guild_id is None else f":{self.guild_id}"
        return f"{self.kind}:{self.id}{tail}"

    @classmethod
    def parse(cls, payload: str) -> Scope | None:
        parts = payload.split(":")
        try:
            if parts[0] == "settings" and len(parts) == 2:
                return cls.settings(int(parts[1]))
            if parts[0] == "item" and len(parts) in (2, 3):
                return cls.item(int(parts[1]), int(parts[2]) if len(parts) == 3 else None)
        except ValueError:
            pass
        return None


async def publish(
    session: AsyncSession, scopes: tuple[Scope, ...], *, on_commit: Callable[[], None]
) -> None:
    """Announce ``scopes`` as part of ``session``'s transaction; call ``on_commit`` after it.

    ``on_commit`` (this process's own invalidation) runs only once the commit is done:
    earlier, a read in between could cache the old rows again. A rollback publishes
    nothing and calls nothing.
    """

    def committed(_session: Session) -> None:
        on_commit()

    event.listen(session.sync_session, "after_commit", committed, once=True)
    if session.get_bind().dialect.name != "postgresql":
        return
    connection = await session.connection()
    for scope in scopes:
        await connection.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": scope.payload},
        )


def listener_dsn(url: URL) -> str:
    """The asyncpg DSN of a SQLAlchemy ``postgresql+asyncpg://`` URL."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


class ChangeFeed:
    """One LISTEN connection per process, reconnecting with back-off when it drops.

    ``on_change`` gets each published scope; ``on_reset`` runs on every (re)connect,
    once LISTEN is in place (what was missed before is dropped; what follows is heard);
    ``on_listening`` says whether notifications are arriving, so that the caches can
    hold entries long while they are and only briefly while they are not.
    """

    def __init__(
        self,
        url: URL,
        *,
        on_change: Callable[[Scope], None],
        on_reset: Callable[[], None],
        on_listening: Callable[[bool], None],
    ) -> None:
        self._dsn = listener_dsn(url)
        self._on_change = on_change
        self._on_reset = on_reset
        self._on_listening = on_listening
        self._task: asyncio.Task[None] | None = None
        self._connection: asyncpg.Connection | None = None
        self._up = asyncio.Event()
        self.listening = False
        self.connects = 0

    @property
    def backend_pid(self) -> int | None:
        """The server process of the LISTEN connection (for tests and diagnostics)."""
        connection = self._connection
        return None if connection is None or connection.is_closed() else connection.get_server_pid()

    async def start(self, *, wait: float = CONNECT_TIMEOUT_SECONDS) -> None:
        """Start listening; waits up to ``wait`` s for the first connection, then goes on
        without it (the caches stay short-lived until it comes)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="change-feed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._up.wait(), wait)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._set_listening(False)

    async def wait_listening(self, timeout: float) -> None:  # noqa: ASYNC109
        await asyncio.wait_for(self._up.wait(), timeout)

    def _set_listening(self, listening: bool) -> None:
        if listening != self.listening:
            self.listening = listening
            self._on_listening(listening)
        if listening:
            self._up.set()
        else:
            self._up.clear()

    def _notified(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        scope = Scope.parse(payload)
        if scope is None:
            log.warning("ignoring a change notification it cannot read: %r", payload[:80])
            return
        self._on_change(scope)

    async def _run(self) -> None:
        delay = FIRST_RETRY_SECONDS
        while True:
            try:
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure of the connection: retry, never give up
                log.warning("change feed: %s; retrying in %.1f s", exc or type(exc).__name__, delay)
            else:
                delay = FIRST_RETRY_SECONDS  # it was up: the next drop retries promptly
            # Even after a good connection: one that keeps dying must not spin.
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_RETRY_SECONDS)

    async def _listen(self) -> None:
        connection = await asyncpg.connect(self._dsn, timeout=CONNECT_TIMEOUT_SECONDS)
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _c: lost.set())
        self._connection = connection
        try:
            await connection.add_listener(CHANNEL, self._notified)
            # Whatever was published while nobody listened is unknown: forget everything.
            self._on_reset()
            self.connects += 1
            self._set_listening(True)
            log.info("change feed: listening (connection %d)", self.connects)
            while not lost.is_set():
                try:
                    await asyncio.wait_for(lost.wait(), HEALTH_SECONDS)
                except TimeoutError:
                    await asyncio.wait_for(connection.fetchval("SELECT 1"), HEALTH_SECONDS)
            log.warning("change feed: connection lost; reconnecting")
        finally:
            self._set_listening(False)
            self._connection = None
            if not connection.is_closed():
                # Nothing to flush on a LISTEN connection; the server ends the session.
                connection.terminate()
