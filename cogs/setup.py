"""/setup channel|role|reminders|language|show|calendar: where and how the bot speaks."""

from __future__ import annotations

import discord
from discord import Interaction, app_commands
from discord.app_commands import Choice
from discord.ext import commands

from cogs.common import bot_of
from discordbot.after import Followup
from discordbot.bot import MotionwatchBot
from discordbot.language import language_of
from discordbot.permissions import require
from discordbot.replies import NO_MENTIONS, respond
from discordbot.translator import L
from i18n import t
from render.setup import render_settings
from services import calendar as calendars
from services import guild_setup
from services.permissions import Level
from tracker.offsets import format_offsets

CALENDAR_ACTIONS = ("show", "rotate")


def _choices(prefix: str, values: tuple[str, ...]) -> list[Choice[str]]:
    return [Choice(name=L(f"{prefix}.{v}"), value=v) for v in values]


class SetupCog(commands.Cog):
    setup_group = app_commands.Group(
        name=L("cmd.setup.name"),
        description=L("cmd.setup.description"),
        guild_only=True,
        default_permissions=discord.Permissions(manage_guild=True),
    )

    def __init__(self, bot: MotionwatchBot) -> None:
        self.bot = bot

    async def _done(
        self, interaction: Interaction, key: str, *, replan: bool = False, **values: object
    ) -> None:
        """``replan``: the change can move reminders (their channel, the offsets)."""
        assert interaction.guild_id is not None
        bot = bot_of(interaction)
        # guild_setup's write already forgot the cached settings when it committed.
        # After the change, so that /setup language answers in the new language.
        language = await language_of(interaction)
        async with bot.after.replying(
            Followup(replan_guild=interaction.guild_id if replan else None)
        ):
            await interaction.response.send_message(
                t(language, key, **values), ephemeral=True, allowed_mentions=NO_MENTIONS
            )

    @setup_group.command(
        name=L("cmd.setup_channel.name"), description=L("cmd.setup_channel.description")
    )
    @app_commands.rename(purpose=L("opt.purpose.name"), channel=L("opt.channel.name"))
    @app_commands.describe(
        purpose=L("opt.purpose.description"), channel=L("opt.channel.description")
    )
    @app_commands.choices(purpose=_choices("choice.channel", guild_setup.CHANNEL_PURPOSES))
    @require(Level.ADMINISTRATOR)
    async def channel(
        self, interaction: Interaction, purpose: Choice[str], channel: discord.TextChannel
    ) -> None:
        assert interaction.guild_id is not None
        await guild_setup.set_channel(
            bot_of(interaction).services,
            guild_id=interaction.guild_id,
            actor_id=interaction.user.id,
            purpose=purpose.value,
            channel_id=channel.id,
        )
        await self._done(
            interaction,
            f"setup.channel_{purpose.value}",
            replan=purpose.value == "reminders",
            channel=channel.mention,
        )

    @setup_group.command(name=L("cmd.setup_role.name"), description=L("cmd.setup_role.description"))
    @app_commands.rename(purpose=L("opt.purpose.name"), role=L("opt.role.name"))
    @app_commands.describe(purpose=L("opt.purpose.description"), role=L("opt.role.description"))
    @app_commands.choices(purpose=_choices("choice.role", guild_setup.ROLE_PURPOSES))
    @require(Level.ADMINISTRATOR)
    async def role(
        self, interaction: Interaction, purpose: Choice[str], role: discord.Role
    ) -> None:
        assert interaction.guild_id is not None
        await guild_setup.set_role(
            bot_of(interaction).services,
            guild_id=interaction.guild_id,
            actor_id=interaction.user.id,
            purpose=purpose.value,
            role_id=role.id,
        )
        await self._done(interaction, f"setup.role_{purpose.value}", role=role.mention)

    @setup_group.command(
        name=L("cmd.setup_reminders.name"), description=L("cmd.setup_reminders.description")
    )
    @app_commands.rename(offsets=L("opt.offsets.name"))
    @app_commands.describe(offsets=L("opt.offsets.description"))
    @require(Level.ADMINISTRATOR)
    async def reminders(self, interaction: Interaction, offsets: str) -> None:
        assert interaction.guild_id is not None
        parsed = await guild_setup.set_reminders(
            bot_of(interaction).services,
            guild_id=interaction.guild_id,
            actor_id=interaction.user.id,
            offsets=offsets,
        )
        await self._done(
            interaction, "setup.reminders", replan=True, offsets=format_offsets(parsed)
        )

    @setup_group.command(
        name=L("cmd.setup_language.name"), description=L("cmd.setup_language.description")
    )
    @app_commands.rename(language=L("opt.language.name"))
    @app_commands.describe(language=L("opt.language.description"))
    @app_commands.choices(language=_choices("choice.language", guild_setup.LANGUAGES))
    @require(Level.ADMINISTRATOR)
    async def language(self, interaction: Interaction, language: Choice[str]) -> None:
        assert interaction.guild_id is not None
        await guild_setup.set_language(
            bot_of(interaction).services,
            guild_id=interaction.guild_id,
            actor_id=interaction.user.id,
            language=language.value,
        )
        await self._done(interaction, "setup.language")

    @setup_group.command(name=L("cmd.setup_show.name"), description=L("cmd.setup_show.description"))
    @require(Level.ADMINISTRATOR)
    async def show(self, interaction: Interaction) -> None:
        assert interaction.guild_id is not None
        settings = await bot_of(interaction).guild_settings.get(interaction.guild_id)
        await respond(
            interaction, render_settings(await language_of(interaction), settings), ephemeral=True
        )

    @setup_group.command(
        name=L("cmd.setup_calendar.name"), description=L("cmd.setup_calendar.description")
    )
    @app_commands.rename(action=L("opt.calendar_action.name"))
    @app_commands.describe(action=L("opt.calendar_action.description"))
    @app_commands.choices(action=_choices("choice.calendar_action", CALENDAR_ACTIONS))
    @require(Level.ADMINISTRATOR)
    async def calendar(self, interaction: Interaction, action: Choice[str]) -> None:
        assert interaction.guild_id is not None
        services = bot_of(interaction).services
        ids = {"guild_id": interaction.guild_id, "actor_id": interaction.user.id}
        if action.value == "rotate":
            secret = await calendars.rotate_secret(services, **ids)
        else:
            secret = await calendars.ensure_secret(services, **ids)
        link = calendars.calendar_link(services.settings, secret)
        verb = "rotated" if action.value == "rotate" else "show"
        language = await language_of(interaction)
        text = (
            t(language, f"export.calendar_{verb}", url=link.url)
            if link.url is not None
            else t(language, f"export.calendar_path_{verb}", path=link.path)
        )
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)


async def setup(bot: MotionwatchBot) -> None:
    await bot.add_cog(SetupCog(bot))
