"""The bot built for this process's gateway shards (SHARD_COUNT and SHARD_IDS, SPEC §6)."""

from __future__ import annotations

from typing import Any

from discord.ext import commands

from discordbot.bot import MotionwatchBot
from services.context import Services


class ShardedMotionwatchBot(MotionwatchBot, commands.AutoShardedBot):
    """The same bot on discord.py's AutoShardedClient, which opens one gateway session per shard.

    MotionwatchBot comes first so its setup_hook and close run; their super() calls reach
    AutoShardedClient's connect, close and latency (the mean over this process's shards).
    """


def make_bot(services: Services, **options: Any) -> MotionwatchBot:
    """The bot on this process's shards; with SHARD_COUNT unset, one process on as many
    shards as Discord recommends for the bot's size (SPEC §6), holding every guild.

    A bot past 2,500 guilds must shard even in one process: Discord refuses an unsharded
    connection then, so "unset" cannot mean "unsharded".
    """
    if services.settings.shard_count is None:
        return ShardedMotionwatchBot(services, **options)
    shards = services.settings.shards
    return ShardedMotionwatchBot(
        services, shard_count=shards.count, shard_ids=sorted(shards.ids), **options
    )
