"""What the cogs share: the item option's autocomplete and the bot's type."""

from __future__ import annotations

from typing import cast

import discord
from discord import app_commands

from discordbot.bot import MotionwatchBot
from services.items import items_for
from tracker.lookup import find_items


def bot_of(interaction: discord.Interaction) -> MotionwatchBot:
    return cast(MotionwatchBot, interaction.client)


async def item_autocomplete(
    interaction: discord.Interaction, current: str
) -> list[app_commands.Choice[str]]:
    bot = bot_of(interaction)
    korean = str(interaction.locale).startswith("ko")
    seen = await items_for(bot.services, interaction.guild_id)
    return [
        app_commands.Choice(name=(item.name_ko if korean else item.name_en)[:100], value=item.key)
        for item in find_items(seen.specs, current)
    ]
