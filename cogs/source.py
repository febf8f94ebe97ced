"""/source add|remove|list: the feeds a guild follows, beside the configured ones."""

from __future__ import annotations

import discord
from discord import Interaction, app_commands
from discord.ext import commands

from cogs.common import bot_of
from discordbot.bot import MotionwatchBot
from discordbot.language import language_of
from discordbot.permissions import require
from discordbot.replies import NO_MENTIONS, respond
from discordbot.translator import L
from i18n import t
from render.sources import render_sources
from services import validation as check
from services.news import add_source, list_sources, remove_source
from services.official import official_source_view
from services.permissions import Level


class SourceCog(commands.Cog):
    source = app_commands.Group(
        name=L("cmd.source.name"),
        description=L("cmd.source.description"),
        guild_only=True,
        default_permissions=discord.Permissions(manage_messages=True),
    )

    def __init__(self, bot: MotionwatchBot) -> None:
        self.bot = bot

    @source.command(name=L("cmd.source_add.name"), description=L("cmd.source_add.description"))
    @app_commands.rename(url=L("opt.url.name"), name=L("opt.source_label.name"))
    @app_commands.describe(url=L("opt.url.description"), name=L("opt.source_label.description"))
    @require(Level.MODERATOR)
    async def add(self, interaction: Interaction, url: str, name: str | None = None) -> None:
        bot = bot_of(interaction)
        assert interaction.guild_id is not None
        await interaction.response.defer(ephemeral=True, thinking=True)
        added = await add_source(
            bot.news,
            guild_id=interaction.guild_id,
            actor_id=interaction.user.id,
            url=url,
            name=name,
        )
        language = await language_of(interaction)
        await interaction.followup.send(
            t(
                language,
                "news.source_reenabled" if added.reenabled else "news.source_added",
                id=added.source.id,
                name=added.source.name,
                entries=added.entries,
                matching=added.matching,
            ),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @source.command(
        name=L("cmd.source_remove.name"), description=L("cmd.source_remove.description")
    )
    @app_commands.rename(source_id=L("opt.source_id.name"))
    @app_commands.describe(source_id=L("opt.source_id.description"))
    @require(Level.MODERATOR)
    async def remove(
        self, interaction: Interaction, source_id: app_commands.Range[int, 1, check.ID_MAX]
    ) -> None:
        bot = bot_of(interaction)
        guild_id = interaction.guild_id
        assert guild_id is not None
        source = await remove_source(
            bot.services,
            guild_id=guild_id,
            actor_id=interaction.user.id,
            source_id=source_id,
            now=bot.now(),
        )
        language = await language_of(interaction)
        await interaction.response.send_message(
            t(language, "news.source_removed", id=source_id, name=source.name),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @source.command(name=L("cmd.source_list.name"), description=L("cmd.source_list.description"))
    @require(Level.MODERATOR)
    async def list_(self, interaction: Interaction) -> None:
        bot = bot_of(interaction)
        assert interaction.guild_id is not None
        language = await language_of(interaction)
        sources = await list_sources(bot.services, guild_id=interaction.guild_id)
        official = await official_source_view(bot.services)
        await respond(interaction, render_sources(language, sources, official), ephemeral=True)


async def setup(bot: MotionwatchBot) -> None:
    await bot.add_cog(SourceCog(bot))
