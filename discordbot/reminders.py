"""Posting a reminder: the only message that may ping anyone, and only the guild's ping role."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

import discord

from discordbot.finding import find_own_post
from i18n import language_for
from render.reminders import render_reminder
from services.errors import ChannelUnavailable
from services.items import items_for
from tracker.lookup import resolve_item
from tracker.reminders import Due

if TYPE_CHECKING:
    from discordbot.bot import MotionwatchBot

log = logging.getLogger(__name__)


async def post_reminder(bot: MotionwatchBot, due: Due, late: bool) -> int | None:
    settings = await bot.guild_settings.get(due.guild_id)
    # The guild's own items too; another guild's never (items_for sees only this guild's).
    seen = await items_for(bot.services, due.guild_id)
    spec = resolve_item(seen.specs, due.target.item_key)
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


async def find_reminder(bot: MotionwatchBot, due: Due, since: datetime) -> int | None:
    """The bot's own message for ``due`` posted in its channel since ``since``, if any."""
    settings = await bot.guild_settings.get(due.guild_id)
    if settings is None or settings.reminders_channel_id is None:
        raise ChannelUnavailable("no reminders channel")
    return await find_own_post(
        bot,
        channel_id=settings.reminders_channel_id,
        guild_id=due.guild_id,
        since=since,
        footer_matches=lambda text: due.nonce in text,
    )
