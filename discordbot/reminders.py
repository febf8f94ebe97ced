"""Posting a reminder: the only message that may ping anyone, and only the guild's ping role."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord

from i18n import language_for
from render.reminders import render_reminder
from services.reminders import ChannelUnavailable
from tracker.lookup import resolve_item
from tracker.reminders import Due

if TYPE_CHECKING:
    from discordbot.bot import MotionwatchBot

log = logging.getLogger(__name__)


async def post_reminder(bot: MotionwatchBot, due: Due, late: bool) -> int | None:
    settings = await bot.guild_settings.get(due.guild_id)
    spec = resolve_item(bot.services.tracker.items, due.target.item_key)
    if settings is None or settings.reminders_channel_id is None or spec is None:
        return None
    guild = bot.get_guild(due.guild_id)
    locale = str(guild.preferred_locale) if guild else None
    language = language_for(settings.language, locale)
    reply = render_reminder(language, spec, due, late=late, ping_role_id=settings.ping_role_id)
    mentions = discord.AllowedMentions(
        everyone=False,
        users=False,
        replied_user=False,
        roles=[discord.Object(settings.ping_role_id)] if settings.ping_role_id else False,
    )
    # REST only: it works before the gateway is up, for the catch-up at start.
    channel = bot.get_partial_messageable(settings.reminders_channel_id, guild_id=due.guild_id)
    try:
        message = await channel.send(
            content=reply.content,
            embeds=[discord.Embed.from_dict(e) for e in reply.embeds],
            allowed_mentions=mentions,
            nonce=due.nonce,
        )
    except (discord.NotFound, discord.Forbidden):
        log.warning(
            "guild %s: cannot post in reminders channel %s",
            due.guild_id,
            settings.reminders_channel_id,
        )
        return None
    except discord.HTTPException as exc:
        if exc.status >= 500:
            raise  # passing: the claim stays, and the next start sends it again
        # Refused for what it says: the same reminder would be refused again.
        log.warning("guild %s: Discord refused a reminder (%s): %s", due.guild_id, exc.status, exc)
        return None
    return message.id


# The channel's messages since the claim that a restart reads, at most, looking for one
# reminder: enough for a busy channel's downtime, bounded against a flood.
SEARCH_LIMIT = 500


async def find_reminder(bot: MotionwatchBot, due: Due, since: datetime) -> int | None:
    """The bot's own message for ``due`` posted in its channel since ``since``, if any."""
    settings = await bot.guild_settings.get(due.guild_id)
    if settings is None or settings.reminders_channel_id is None:
        raise ChannelUnavailable("no reminders channel")
    channel = bot.get_partial_messageable(settings.reminders_channel_id, guild_id=due.guild_id)
    # A message posted just before the claim's stamp was written still counts.
    after = discord.Object(discord.utils.time_snowflake(since - timedelta(minutes=1)))
    me = bot.user.id if bot.user is not None else bot.application_id
    try:
        async for message in channel.history(limit=SEARCH_LIMIT, after=after, oldest_first=True):
            if message.author.id != me:
                continue
            if any(due.nonce in (embed.footer.text or "") for embed in message.embeds):
                return message.id
    except (discord.NotFound, discord.Forbidden) as exc:
        raise ChannelUnavailable(f"{type(exc).__name__} reading channel history") from exc
    return None
