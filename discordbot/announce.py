"""Posting announcements in a guild's updates channel, never letting a failure undo the change."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from discordbot.replies import send_kwargs
from i18n import language_for
from render.announce import render_change
from views.changes import Change

if TYPE_CHECKING:
    from discordbot.bot import MotionwatchBot

log = logging.getLogger(__name__)


async def announce_change(bot: MotionwatchBot, guild: discord.Guild, change: Change) -> bool:
    """Post ``change`` in the updates channel; False when none is set or posting failed."""
    settings = await bot.guild_settings.get(guild.id)
    if settings is None or settings.updates_channel_id is None:
        return False
    channel = guild.get_channel(settings.updates_channel_id)
    if not isinstance(channel, discord.TextChannel):
        log.warning("guild %s: updates channel %s is gone", guild.id, settings.updates_channel_id)
        return False
    language = language_for(settings.language, str(guild.preferred_locale))
    try:
        await channel.send(**send_kwargs(render_change(language, change)))
    except discord.HTTPException:
        log.warning("guild %s: could not post in the updates channel", guild.id, exc_info=True)
        return False
    return True
