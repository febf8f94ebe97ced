"""/deadline add|remove: moderators' own deadlines, reminded like the computed ones."""

from __future__ import annotations

import discord
from discord import Interaction, app_commands
from discord.ext import commands

from cogs.common import bot_of, item_autocomplete
from discordbot.after import Followup
from discordbot.bot import MotionwatchBot
from discordbot.language import language_of
from discordbot.permissions import require
from discordbot.replies import NO_MENTIONS
from discordbot.translator import L
from i18n import t
from render.common import moment_text
from services.moderation import add_deadline, remove_deadline
from services.permissions import Level
from services.reading import require_item
from services.validation import ID_MAX, ITEM_LIMIT


class DeadlineCog(commands.Cog):
    deadline = app_commands.Group(
        name=L("cmd.deadline.name"),
        description=L("cmd.deadline.description"),
        guild_only=True,
        default_permissions=discord.Permissions(manage_messages=True),
    )

    def __init__(self, bot: MotionwatchBot) -> None:
        self.bot = bot

    @deadline.command(
        name=L("cmd.deadline_add.name"), description=L("cmd.deadline_add.description")
    )
    @app_commands.rename(
        item=L("opt.item.name"), title=L("opt.title.name"), when=L("opt.when.name")
    )
    @app_commands.describe(
        item=L("opt.item.description"),
        title=L("opt.title.description"),
        when=L("opt.when.description"),
    )
    @app_commands.autocomplete(item=item_autocomplete)
    @require(Level.MODERATOR)
    async def add(
        self,
        interaction: Interaction,
        item: app_commands.Range[str, 1, ITEM_LIMIT],
        title: str,
        when: str,
    ) -> None:
        bot = bot_of(interaction)
        assert interaction.guild_id is not None
        spec = await require_item(bot.services, item, guild_id=interaction.guild_id)
        created = await add_deadline(
            bot.services,
            guild_id=interaction.guild_id,
            actor_id=interaction.user.id,
            item=spec,
            title=title,
            when=when,
            now=bot.now(),
        )
        language = await language_of(interaction)
        async with bot.after.replying(Followup(replan_guild=interaction.guild_id)):
            await interaction.response.send_message(
                t(
                    language,
                    "deadline_cmd.added",
                    id=created.id,
                    title=created.title,
                    item=spec.name(language),
                    at=moment_text(created.due_at),
                ),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )

    @deadline.command(
        name=L("cmd.deadline_remove.name"), description=L("cmd.deadline_remove.description")
    )
    @app_commands.rename(deadline_id=L("opt.deadline_id.name"))
    @app_commands.describe(deadline_id=L("opt.deadline_id.description"))
    @require(Level.MODERATOR)
    async def remove(
        self, interaction: Interaction, deadline_id: app_commands.Range[int, 1, ID_MAX]
    ) -> None:
        bot = bot_of(interaction)
        assert interaction.guild_id is not None
        removed, spec = await remove_deadline(
            bot.services,
            guild_id=interaction.guild_id,
            actor_id=interaction.user.id,
            deadline_id=deadline_id,
        )
        language = await language_of(interaction)
        async with bot.after.replying(Followup(replan_guild=interaction.guild_id)):
            await interaction.response.send_message(
                t(
                    language,
                    "deadline_cmd.removed",
                    id=removed.id,
                    title=removed.title,
                    item=spec.name(language),
                ),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )


async def setup(bot: MotionwatchBot) -> None:
    await bot.add_cog(DeadlineCog(bot))
