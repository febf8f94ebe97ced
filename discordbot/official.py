"""The official record's Discord side: the warning that its source was paused."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from discordbot.replies import NO_MENTIONS
from i18n import language_for, t
from storage.models import OfficialSource

if TYPE_CHECKING:
    from discordbot.bot import MotionwatchBot

log = logging.getLogger(__name__)


async def warn_official_disabled(
    bot: MotionwatchBot, guild_id: int, channel_id: int, source: OfficialSource
) -> None:
    """Tell a guild's news channel that the official source failed and was paused."""
    settings = await bot.guild_settings.get(guild_id)
    guild = bot.get_guild(guild_id)
    language = language_for(
        settings.language if settings else None, str(guild.preferred_locale) if guild else None
    )
    text = t(
        language,
        "official.disabled",
        name=source.name,
        failures=source.consecutive_failures,
        error=source.last_error or "-",
    )
    try:
        await bot.get_partial_messageable(channel_id).send(
            text[:2000], allowed_mentions=NO_MENTIONS
        )
    except discord.HTTPException:
        log.warning("guild %s: could not warn about the official source", guild_id, exc_info=True)
