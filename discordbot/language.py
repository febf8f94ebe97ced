"""Which language a reply is in: the guild's /setup language, else its locale, else English."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import discord

from i18n import language_for

if TYPE_CHECKING:
    from discordbot.bot import MotionwatchBot


async def language_of(interaction: discord.Interaction) -> str:
    locale = str(interaction.guild_locale) if interaction.guild_locale else None
    if interaction.guild_id is None:
        return language_for(None, str(interaction.locale))
    bot = cast("MotionwatchBot", interaction.client)
    settings = await bot.guild_settings.get(interaction.guild_id)
    return language_for(settings.language if settings else None, locale)
