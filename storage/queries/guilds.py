from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import GuildSettings


async def get_settings(session: AsyncSession, *, guild_id: int) -> GuildSettings | None:
    return await session.get(GuildSettings, guild_id)


async def settings_for_update(session: AsyncSession, *, guild_id: int) -> GuildSettings:
    """The guild's settings row, created with the defaults when it has none yet."""
    row = await session.get(GuildSettings, guild_id)
    if row is None:
        row = GuildSettings(guild_id=guild_id)
        session.add(row)
    return row
