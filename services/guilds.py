"""A guild's settings, read through a small cache (they are read on every command)."""

from __future__ import annotations

from storage.engine import SessionFactory
from storage.models import GuildSettings


class GuildSettingsCache:
    """Settings rows by guild id; a write elsewhere must call ``forget``."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions
        self._rows: dict[int, GuildSettings | None] = {}

    async def get(self, guild_id: int) -> GuildSettings | None:
        if guild_id not in self._rows:
            async with self._sessions() as session:
                self._rows[guild_id] = await session.get(GuildSettings, guild_id)
        return self._rows[guild_id]

    def forget(self, guild_id: int) -> None:
        self._rows.pop(guild_id, None)
