"""/status and /deadlines: read-only, for every member."""

from __future__ import annotations

from discord import Interaction, app_commands
from discord.ext import commands

from cogs.common import bot_of, item_autocomplete
from discordbot.bot import MotionwatchBot
from discordbot.language import language_of
from discordbot.replies import respond
from discordbot.translator import L
from render.deadlines import render_deadlines
from render.status import render_status
from services.reading import pick_item, statuses, upcoming_deadlines
from services.validation import ITEM_LIMIT
from tracker.offsets import DEFAULT_OFFSETS, parse_offsets


class StatusCog(commands.Cog):
    def __init__(self, bot: MotionwatchBot) -> None:
        self.bot = bot

    @app_commands.command(name=L("cmd.status.name"), description=L("cmd.status.description"))
    @app_commands.rename(item=L("opt.item.name"))
    @app_commands.describe(item=L("opt.item.description"))
    @app_commands.autocomplete(item=item_autocomplete)
    async def status(
        self, interaction: Interaction, item: app_commands.Range[str, 1, ITEM_LIMIT] | None = None
    ) -> None:
        bot = bot_of(interaction)
        spec = await pick_item(bot.services, item, guild_id=interaction.guild_id)
        language = await language_of(interaction)
        rows = await statuses(bot.services, guild_id=interaction.guild_id, item=spec, now=bot.now())
        await respond(interaction, render_status(language, rows))

    @app_commands.command(name=L("cmd.deadlines.name"), description=L("cmd.deadlines.description"))
    @app_commands.rename(item=L("opt.item.name"))
    @app_commands.describe(item=L("opt.item.description"))
    @app_commands.autocomplete(item=item_autocomplete)
    async def deadlines(
        self, interaction: Interaction, item: app_commands.Range[str, 1, ITEM_LIMIT] | None = None
    ) -> None:
        bot = bot_of(interaction)
        spec = await pick_item(bot.services, item, guild_id=interaction.guild_id)
        language = await language_of(interaction)
        settings = (
            await bot.guild_settings.get(interaction.guild_id) if interaction.guild_id else None
        )
        now = bot.now()
        rows = await upcoming_deadlines(
            bot.services, guild_id=interaction.guild_id, item=spec, now=now
        )
        offsets = parse_offsets(settings.reminder_offsets if settings else DEFAULT_OFFSETS)
        reminders_on = bool(settings and settings.reminders_channel_id)
        reply = render_deadlines(
            language, rows, offsets=offsets, reminders_on=reminders_on, now=now
        )
        await respond(interaction, reply)


async def setup(bot: MotionwatchBot) -> None:
    await bot.add_cog(StatusCog(bot))
