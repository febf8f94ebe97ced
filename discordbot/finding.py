"""Finding the bot's own post again in a channel, by the key its embed footer carries.

Discord remembers a message nonce for only a few minutes: after a crash between Discord
accepting a post and the bot recording it, a restart later than that would post twice
if it simply sent again. Every delivery (reminder, news post) carries its key in its
footer, so the restart reads the channel since the claim instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import discord

from services.errors import ChannelUnavailable

if TYPE_CHECKING:
    from discordbot.bot import MotionwatchBot

# The channel's messages since the claim read at most, looking for one post: enough for a
# busy channel's downtime, bounded against a flood.
SEARCH_LIMIT = 500


async def find_own_post(
    bot: MotionwatchBot,
    *,
    channel_id: int,
    guild_id: int,
    since: datetime,
    footer_matches: Callable[[str], bool],
) -> int | None:
    """The id of the bot's own message posted since ``since`` whose footer matches."""
    channel = bot.get_partial_messageable(channel_id, guild_id=guild_id)
    # A message posted just before the claim's stamp was written still counts.
    after = discord.Object(discord.utils.time_snowflake(since - timedelta(minutes=1)))
    me = bot.user.id if bot.user is not None else bot.application_id
    try:
        async for message in channel.history(limit=SEARCH_LIMIT, after=after, oldest_first=True):
            if message.author.id != me:
                continue
            if any(footer_matches(embed.footer.text or "") for embed in message.embeds):
                return message.id
    except (discord.NotFound, discord.Forbidden) as exc:
        raise ChannelUnavailable(f"{type(exc).__name__} reading channel history") from exc
    return None
