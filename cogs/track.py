"""/track motion|stop: moderators start and stop following a motion of their own guild."""

from __future__ import annotations

import discord
from discord import Interaction, app_commands
from discord.ext import commands

from cogs.common import bot_of
from discordbot.after import Followup
from discordbot.bot import MotionwatchBot
from discordbot.language import language_of
from discordbot.permissions import require
from discordbot.replies import NO_MENTIONS
from discordbot.translator import L
from i18n import t
from services.items import items_for
from services.permissions import Level
from services.track import stop_tracking, track_motion
from services.validation import ITEM_LIMIT
from tracker.lookup import find_items


async def own_item_autocomplete(
    interaction: Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """Only the guild's own items: the configured ones cannot be stopped."""
    bot = bot_of(interaction)
    korean = str(interaction.locale).startswith("ko")
    seen = await items_for(bot.services, interaction.guild_id)
    own = [s for s in seen.specs if seen.is_own(s)]
    return [
        app_commands.Choice(name=(item.name_ko if korean else item.name_en)[:100], value=item.key)
        for item in find_items(own, current)
    ]


class TrackCog(commands.Cog):
    track = app_commands.Group(
        name=L("cmd.track.name"),
        description=L("cmd.track.description"),
        guild_only=True,
        default_permissions=discord.Permissions(manage_messages=True),
    )

    def __init__(self, bot: MotionwatchBot) -> None:
        self.bot = bot

    @track.command(name=L("cmd.track_motion.name"), description=L("cmd.track_motion.description"))
    @app_commands.rename(
        name=L("opt.track_name.name"),
        name_ko=L("opt.track_name_ko.name"),
        bill_no=L("opt.bill_no.name"),
        keywords=L("opt.keywords.name"),
    )
    @app_commands.describe(
        name=L("opt.track_name.description"),
        name_ko=L("opt.track_name_ko.description"),
        bill_no=L("opt.bill_no.description"),
        keywords=L("opt.keywords.description"),
    )
    @require(Level.MODERATOR)
    async def motion(
        self,
        interaction: Interaction,
        name: app_commands.Range[str, 1, 200],
        name_ko: app_commands.Range[str, 1, 200] | None = None,
        bill_no: app_commands.Range[str, 1, 40] | None = None,
        keywords: app_commands.Range[str, 1, 1000] | None = None,
    ) -> None:
        bot = bot_of(interaction)
        assert interaction.guild_id is not None
        spec = await track_motion(
            bot.services,
            guild_id=interaction.guild_id,
            actor_id=interaction.user.id,
            name=name,
            name_ko=name_ko,
            bill_no=bill_no,
            keywords=keywords,
            now=bot.now(),
        )
        language = await language_of(interaction)
        await interaction.response.send_message(
            t(language, "track.created", item=spec.name(language), key=spec.key),
            ephemeral=True,
            allowed_mentions=NO_MENTIONS,
        )

    @track.command(name=L("cmd.track_stop.name"), description=L("cmd.track_stop.description"))
    @app_commands.rename(item=L("opt.item.name"))
    @app_commands.describe(item=L("opt.track_item.description"))
    @app_commands.autocomplete(item=own_item_autocomplete)
    @require(Level.MODERATOR)
    async def stop(
        self, interaction: Interaction, item: app_commands.Range[str, 1, ITEM_LIMIT]
    ) -> None:
        bot = bot_of(interaction)
        assert interaction.guild_id is not None
        spec = await stop_tracking(
            bot.services,
            guild_id=interaction.guild_id,
            actor_id=interaction.user.id,
            item=item,
            now=bot.now(),
        )
        language = await language_of(interaction)
        # Its reminders planned for this guild are dropped by the re-plan.
        async with bot.after.replying(Followup(replan_guild=interaction.guild_id)):
            await interaction.response.send_message(
                t(language, "track.stopped", item=spec.name(language), key=spec.key),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )


async def setup(bot: MotionwatchBot) -> None:
    await bot.add_cog(TrackCog(bot))
