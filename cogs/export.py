"""/export format:{ics,csv,json} [item]: any member gets a file, ephemerally (SPEC §3)."""

from __future__ import annotations

import io

import discord
from discord import Interaction, app_commands
from discord.app_commands import Choice
from discord.ext import commands

from cogs.common import bot_of, item_autocomplete
from discordbot.bot import MotionwatchBot
from discordbot.language import language_of
from discordbot.replies import respond
from discordbot.translator import L
from exporting.ics import build_calendar
from exporting.tabular import to_csv, to_json
from i18n import t
from render.common import Reply
from services.calendar import calendar_link, existing_secret
from services.exports import deadlines_export, timeline_export
from services.reading import pick_item
from services.validation import ITEM_LIMIT

FORMATS = ("ics", "csv", "json")


class ExportCog(commands.Cog):
    def __init__(self, bot: MotionwatchBot) -> None:
        self.bot = bot

    @app_commands.command(name=L("cmd.export.name"), description=L("cmd.export.description"))
    @app_commands.guild_only()
    @app_commands.rename(format=L("opt.format.name"), item=L("opt.item.name"))
    @app_commands.describe(format=L("opt.format.description"), item=L("opt.item.description"))
    @app_commands.choices(format=[Choice(name=L(f"choice.format.{f}"), value=f) for f in FORMATS])
    @app_commands.autocomplete(item=item_autocomplete)
    async def export(
        self,
        interaction: Interaction,
        format: Choice[str],
        item: app_commands.Range[str, 1, ITEM_LIMIT] | None = None,
    ) -> None:
        bot = bot_of(interaction)
        assert interaction.guild_id is not None
        spec = await pick_item(bot.services, item, guild_id=interaction.guild_id)
        language = await language_of(interaction)
        stem = f"motionwatch-{spec.key if spec else 'all'}"
        if format.value == "ics":
            now = bot.now()
            entries = await deadlines_export(
                bot.services, guild_id=interaction.guild_id, item=spec, now=now
            )
            data = build_calendar(entries, language=language)
            text = t(language, "export.ics", count=len(entries))
            secret = await existing_secret(bot.services, guild_id=interaction.guild_id)
            if secret is not None:
                link = calendar_link(bot.services.settings, secret)
                if link.url is not None:
                    text += "\n" + t(language, "export.ics_link", url=link.url)
            filename = f"{stem}-deadlines.ics"
        else:
            events = await timeline_export(bot.services, guild_id=interaction.guild_id, item=spec)
            data = to_csv(events) if format.value == "csv" else to_json(events)
            text = t(language, "export.timeline", format=format.value.upper(), count=len(events))
            filename = f"{stem}-timeline.{format.value}"
        await respond(
            interaction,
            Reply(content=text),
            ephemeral=True,
            files=[discord.File(io.BytesIO(data), filename=filename)],
        )


async def setup(bot: MotionwatchBot) -> None:
    await bot.add_cog(ExportCog(bot))
