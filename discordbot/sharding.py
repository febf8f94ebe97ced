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
    """A plain MotionwatchBot unless the settings shard the gateway, as one process always was."""
    shards = services.settings.shards
    if not shards.sharded:
        return MotionwatchBot(services, **options)
    return ShardedMotionwatchBot(
        services, shard_count=shards.count, shard_ids=sorted(shards.ids), **options
    )
