"""A guild's settings, read through a small cache (they are read on every command).

A write through this process forgets the guild's entry when it commits
(``Services.changed``); another process's write arrives as a PostgreSQL
notification (storage/notify.py) and does the same. Entries also expire after
``ttl`` seconds: the only bound on SQLite, and a safety net on PostgreSQL.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from services.convert import settings_view
from storage.engine import SessionFactory
from storage.queries.guilds import get_settings
from views.settings import GuildSettingsView


class GuildSettingsCache:
    """Settings by guild id, each kept at most ``ttl`` seconds."""

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self.ttl = ttl
        self._clock = clock
        self._rows: dict[int, tuple[float, GuildSettingsView | None]] = {}
        # Bumped by every forget: a read that began before one must not be cached,
        # since it may have seen the rows from before the change that caused it.
        self._generation = 0

    async def get(self, guild_id: int) -> GuildSettingsView | None:
        cached = self._rows.get(guild_id)
        if cached is not None and self._clock() - cached[0] < self.ttl:
            return cached[1]
        # Freshness counts from before the read: the row is at least this recent.
        stamp, generation = self._clock(), self._generation
        async with self._sessions() as session:
            row = await get_settings(session, guild_id=guild_id)
        view = settings_view(row) if row is not None else None
        if generation == self._generation:
            self._rows[guild_id] = (stamp, view)
        return view

    def put(self, guild_id: int, view: GuildSettingsView, *, keep_for: float) -> None:
        """What this process has just committed, kept ``keep_for`` seconds at most, so that
        the moderator's reply (in the new language, say) needs no read of its own.

        Briefly: another process's later change may have been heard of just before this
        commit's own answer arrived, and then this view is already older than the store.
        """
        self._generation += 1
        self._rows[guild_id] = (self._clock() - max(0.0, self.ttl - keep_for), view)

    def forget(self, guild_id: int) -> None:
        self._generation += 1
        self._rows.pop(guild_id, None)

    def forget_all(self) -> None:
        self._generation += 1
        self._rows.clear()
