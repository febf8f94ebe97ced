"""The permission rule of SPEC §1, enforced by the bot on every command and button."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar, cast

import discord
from discord import app_commands

from services.permissions import Level, allows, level_of

if TYPE_CHECKING:
    from discordbot.bot import MotionwatchBot


T = TypeVar("T")


class NotAllowed(app_commands.CheckFailure):
    def __init__(self, needed: Level) -> None:
        super().__init__(f"needs {needed}")
        self.needed = needed


async def level_in(interaction: discord.Interaction) -> Level:
    if interaction.guild_id is None or not isinstance(interaction.user, discord.Member):
        return Level.MEMBER
    bot = cast("MotionwatchBot", interaction.client)
    settings = await bot.guild_settings.get(interaction.guild_id)
    perms = interaction.permissions
    return level_of(
        manage_guild=perms.manage_guild or perms.administrator,
        role_ids=[role.id for role in interaction.user.roles],
        moderator_role_id=settings.moderator_role_id if settings else None,
    )


async def ensure(interaction: discord.Interaction, needed: Level) -> None:
    """Raise NotAllowed unless the member has ``needed``; for buttons and other callbacks."""
    if not allows(await level_in(interaction), needed):
        raise NotAllowed(needed)


def require(needed: Level) -> Callable[[T], T]:
    """An app-command check: the member must have ``needed``."""

    async def predicate(interaction: discord.Interaction) -> bool:
        await ensure(interaction, needed)
        return True

    return app_commands.check(predicate)
