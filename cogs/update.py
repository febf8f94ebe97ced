"""/update add|edit|remove: moderators keep the timeline true."""

from __future__ import annotations

import discord
from discord import Interaction, app_commands
from discord.ext import commands

from cogs.common import bot_of, item_autocomplete
from discordbot.after import Followup
from discordbot.bot import MotionwatchBot
from discordbot.language import language_of
from discordbot.permissions import require
from discordbot.replies import NO_MENTIONS, send_kwargs
from discordbot.translator import L
from i18n import t
from render.announce import render_change
from services.items import items_for
from services.moderation import add_update, edit_update, remove_update
from services.permissions import Level
from services.reading import require_item, statuses
from services.validation import ID_MAX, ITEM_LIMIT
from tracker.lookup import resolve_item
from views.changes import Change

MODERATORS = discord.Permissions(manage_messages=True)


async def stage_autocomplete(
    interaction: Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """The stages the chosen item's rules allow next (for add), or all of its stages."""
    bot = bot_of(interaction)
    value = getattr(interaction.namespace, "item", None)
    seen = await items_for(bot.services, interaction.guild_id)
    spec = resolve_item(seen.specs, value) if isinstance(value, str) else None
    if spec is None:
        return []
    stages: tuple[str, ...] = spec.rules.stages
    if interaction.command is not None and interaction.command.name == "add":
        (status,) = await statuses(
            bot.services, guild_id=interaction.guild_id, item=spec, now=bot.now()
        )
        allowed = spec.rules.next_stages(status.assessment)
        stages = tuple(s for s in stages if s in allowed)
    needle = current.strip().lower()
    return [app_commands.Choice(name=s, value=s) for s in stages if needle in s][:25]


async def _report(interaction: Interaction, change: Change, key: str) -> None:
    """The reply first; the re-plan and the announcement follow it (discordbot/after.py)."""
    bot = bot_of(interaction)
    language = await language_of(interaction)
    assert interaction.guild_id is not None
    text = t(language, key, id=change.event.id, item=change.spec.name(language))
    # Recorded with the change, in its transaction, only when an updates channel was set.
    announced = change.announcement_id is not None
    if not announced:
        text += "\n" + t(language, "update.not_announced")
    kwargs = send_kwargs(render_change(language, change))
    # A stage change may move deadlines: their reminders are planned again.
    followup = Followup(
        replan_guild=interaction.guild_id,
        announce_guild=interaction.guild_id if announced else None,
    )
    async with bot.after.replying(followup):
        await interaction.response.send_message(
            text, embeds=kwargs["embeds"], ephemeral=True, allowed_mentions=NO_MENTIONS
        )


class UpdateCog(commands.Cog):
    update = app_commands.Group(
        name=L("cmd.update.name"),
        description=L("cmd.update.description"),
        guild_only=True,
        default_permissions=MODERATORS,
    )

    def __init__(self, bot: MotionwatchBot) -> None:
        self.bot = bot

    @update.command(name=L("cmd.update_add.name"), description=L("cmd.update_add.description"))
    @app_commands.rename(
        item=L("opt.item.name"),
        summary=L("opt.summary.name"),
        stage=L("opt.stage.name"),
        when=L("opt.when.name"),
        source_url=L("opt.source_url.name"),
        source_name=L("opt.source_name.name"),
    )
    @app_commands.describe(
        item=L("opt.item.description"),
        summary=L("opt.summary.description"),
        stage=L("opt.stage.description"),
        when=L("opt.when.description"),
        source_url=L("opt.source_url.description"),
        source_name=L("opt.source_name.description"),
    )
    @app_commands.autocomplete(item=item_autocomplete, stage=stage_autocomplete)
    @require(Level.MODERATOR)
    async def add(
        self,
        interaction: Interaction,
        item: app_commands.Range[str, 1, ITEM_LIMIT],
        summary: str,
        stage: str | None = None,
        when: str | None = None,
        source_url: str | None = None,
        source_name: str | None = None,
    ) -> None:
        bot = bot_of(interaction)
        assert interaction.guild_id is not None
        change = await add_update(
            bot.services,
            guild_id=interaction.guild_id,
            actor_id=interaction.user.id,
            item=await require_item(bot.services, item, guild_id=interaction.guild_id),
            summary=summary,
            stage=stage,
            when=when,
            source_url=source_url,
            source_name=source_name,
            now=bot.now(),
        )
        await _report(interaction, change, "update.added")

    @update.command(name=L("cmd.update_edit.name"), description=L("cmd.update_edit.description"))
    @app_commands.rename(
        event_id=L("opt.event_id.name"),
        summary=L("opt.summary.name"),
        stage=L("opt.stage.name"),
        when=L("opt.when.name"),
        source_url=L("opt.source_url.name"),
    )
    @app_commands.describe(
        event_id=L("opt.event_id.description"),
        summary=L("opt.summary.description"),
        stage=L("opt.stage.description"),
        when=L("opt.when.description"),
        source_url=L("opt.source_url.description"),
    )
    @require(Level.MODERATOR)
    async def edit(
        self,
        interaction: Interaction,
        event_id: app_commands.Range[int, 1, ID_MAX],
        summary: str | None = None,
        stage: str | None = None,
        when: str | None = None,
        source_url: str | None = None,
    ) -> None:
        bot = bot_of(interaction)
        assert interaction.guild_id is not None
        change = await edit_update(
            bot.services,
            guild_id=interaction.guild_id,
            actor_id=interaction.user.id,
            event_id=event_id,
            summary=summary,
            stage=stage,
            when=when,
            source_url=source_url,
            now=bot.now(),
        )
        await _report(interaction, change, "update.edited")

    @update.command(
        name=L("cmd.update_remove.name"), description=L("cmd.update_remove.description")
    )
    @app_commands.rename(event_id=L("opt.event_id.name"), reason=L("opt.reason.name"))
    @app_commands.describe(
        event_id=L("opt.event_id.description"), reason=L("opt.reason.description")
    )
    @require(Level.MODERATOR)
    async def remove(
        self,
        interaction: Interaction,
        event_id: app_commands.Range[int, 1, ID_MAX],
        reason: str,
    ) -> None:
        bot = bot_of(interaction)
        assert interaction.guild_id is not None
        change = await remove_update(
            bot.services,
            guild_id=interaction.guild_id,
            actor_id=interaction.user.id,
            event_id=event_id,
            reason=reason,
            now=bot.now(),
        )
        await _report(interaction, change, "update.removed")


async def setup(bot: MotionwatchBot) -> None:
    await bot.add_cog(UpdateCog(bot))
