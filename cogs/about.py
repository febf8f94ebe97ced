"""/about: what is running and how it is doing."""

from __future__ import annotations

import math
from importlib.metadata import PackageNotFoundError, version

from discord import Interaction, app_commands
from discord.ext import commands

from cogs.common import bot_of
from discordbot.bot import MotionwatchBot
from discordbot.language import language_of
from discordbot.replies import respond
from discordbot.translator import L
from render.about import AboutFacts, render_about
from services.announcements import announcement_counts
from services.reminders import reminder_counts
from storage.engine import backend_label


def _version() -> str:
    try:
        return version("motionwatch")
    except PackageNotFoundError:
        return "unknown"


class AboutCog(commands.Cog):
    def __init__(self, bot: MotionwatchBot) -> None:
        self.bot = bot

    @app_commands.command(name=L("cmd.about.name"), description=L("cmd.about.description"))
    async def about(self, interaction: Interaction) -> None:
        bot = bot_of(interaction)
        latency = bot.latency
        guild_id = interaction.guild_id
        facts = AboutFacts(
            version=_version(),
            uptime=bot.uptime,
            latency_ms=None if math.isinf(latency) or math.isnan(latency) else latency * 1000,
            database=backend_label(bot.services.engine),
            last_poll=bot.last_poll,
            items=len(bot.services.tracker.items),
            guilds=len(bot.guilds),
            reminders=(
                await reminder_counts(bot.services, guild_id=guild_id)
                if guild_id is not None
                else None
            ),
            announcements=(
                await announcement_counts(bot.services, guild_id=guild_id)
                if guild_id is not None
                else None
            ),
        )
        await respond(interaction, render_about(await language_of(interaction), facts))


async def setup(bot: MotionwatchBot) -> None:
    await bot.add_cog(AboutCog(bot))
