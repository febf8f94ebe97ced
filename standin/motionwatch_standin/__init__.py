"""A local stand-in for Discord, for end-to-end tests, the demo mode and benchmarks.

It serves REST under /api/v10 and a gateway websocket on loopback, enough for
an unmodified discord.py client, and checks every request body against
Discord's OpenAPI spec and the rules the spec misses. It never imports
discord: it is the server side.

Pointing a discord.py 2.7 bot at it (both class attributes; restore them after)::

    import discord.http, yarl
    from discord.gateway import DiscordWebSocket

    async with DiscordStandIn() as standin:
        guild = standin.add_guild("Test guild")          # before the bot connects
        discord.http.Route.BASE = standin.api_base
        # A plain Client never calls GET /gateway/bot; it connects here:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(standin.gateway_url)
        bot = MyBot(intents=discord.Intents.default(),
                    allowed_mentions=discord.AllowedMentions.none(),
                    guild_ready_timeout=0.05)        # on_ready waits 2 s by default
        await bot.login(standin.bot_token)          # REST; runs setup_hook (syncs)
        task = asyncio.create_task(bot.connect())   # the gateway
        await bot.wait_until_ready()
        interaction = await standin.invoke(guild.id, guild.channel_named("general"),
                                           guild.add_member("alice"), "status")
        print((await interaction.response()).content)
        await bot.close(); await task
"""

from motionwatch_standin.commands import SyncRecord
from motionwatch_standin.driver import DiscordStandIn
from motionwatch_standin.interactions import AutocompleteChoice, CallbackRecord, InteractionRecord
from motionwatch_standin.journal import FileRecord, RequestRecord
from motionwatch_standin.messages import AttachmentRecord, MessageRecord
from motionwatch_standin.model import (
    DEFAULT_BOT_PERMISSIONS,
    DEFAULT_EVERYONE_PERMISSIONS,
    Guild,
    Perm,
)
from motionwatch_standin.options import Upload
from motionwatch_standin.payload import StandInTimeout, StandInUsageError
from motionwatch_standin.ratelimits import RateLimits, RateLimitStats, RouteLimit
from motionwatch_standin.shards import shard_of
from motionwatch_standin.validate import SPEC_ENV, default_spec_path

__all__ = [
    "DEFAULT_BOT_PERMISSIONS",
    "DEFAULT_EVERYONE_PERMISSIONS",
    "SPEC_ENV",
    "AttachmentRecord",
    "AutocompleteChoice",
    "CallbackRecord",
    "DiscordStandIn",
    "FileRecord",
    "Guild",
    "InteractionRecord",
    "MessageRecord",
    "Perm",
    "RateLimitStats",
    "RateLimits",
    "RequestRecord",
    "RouteLimit",
    "StandInTimeout",
    "StandInUsageError",
    "SyncRecord",
    "Upload",
    "default_spec_path",
    "shard_of",
]
