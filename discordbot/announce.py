"""Posting a stored announcement in its updates channel, and finding it there again.

What to post and when is services/announcements.py's: this side renders, sends with the
announcement's nonce, and says how it went without raising for Discord's answers.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import aiohttp
import discord

from discordbot.finding import find_own_post
from discordbot.offers import track_view
from discordbot.replies import send_kwargs
from i18n import LANGUAGES, language_for
from render.announce import announcement_footer, render_change
from render.offers import render_offer
from services.announcements import Outgoing
from services.news import Delivery, Refused, Retry, Sent

if TYPE_CHECKING:
    from discordbot.bot import MotionwatchBot

log = logging.getLogger(__name__)


async def _language(bot: MotionwatchBot, guild_id: int) -> str:
    settings = await bot.guild_settings.get(guild_id)
    # Before the gateway is up (the start-up delivery) the guild's locale is not known yet.
    guild = bot.get_guild(guild_id)
    return language_for(
        settings.language if settings else None, str(guild.preferred_locale) if guild else None
    )


async def post_announcement(bot: MotionwatchBot, out: Outgoing) -> Delivery:
    language = await _language(bot, out.guild_id)
    extra: dict[str, Any] = {}
    if out.offer is not None:
        # A new official motion in the news channel, with its "Track it" button.
        reply = render_offer(language, out.offer, announcement_id=out.id)
        extra["view"] = track_view(language, out.offer.bill_no)
        where = "news"
    else:
        assert out.change is not None
        reply = render_change(language, out.change, announcement_id=out.id)
        where = "updates"
    # REST only: it works before the gateway is up, for the catch-up at start.
    channel = bot.get_partial_messageable(out.channel_id, guild_id=out.guild_id)
    try:
        message = await channel.send(**send_kwargs(reply), nonce=out.nonce, **extra)
    except (discord.NotFound, discord.Forbidden) as exc:
        log.warning("guild %s: cannot post in %s channel %s", out.guild_id, where, out.channel_id)
        return Refused(f"the {where} channel is gone or closed to the bot ({exc.status})")
    except discord.HTTPException as exc:
        if 400 <= exc.status < 500:
            # Refused for what it says: sending it again cannot help.
            return Refused(f"Discord refused the announcement ({exc.status}: {exc.text[:300]})")
        return Retry(f"Discord answered {exc.status}")
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return Retry(f"network error ({type(exc).__name__})")
    return Sent(message.id)


async def find_announcement(bot: MotionwatchBot, out: Outgoing) -> int | None:
    """The bot's own message of ``out`` in its channel, if a crash left it unrecorded."""
    # The footer in any language: the guild's may have changed since it was posted.
    footers = {announcement_footer(language, out.id) for language in LANGUAGES}
    return await find_own_post(
        bot,
        channel_id=out.channel_id,
        guild_id=out.guild_id,
        since=out.since,
        footer_matches=lambda text: text in footers,
    )
