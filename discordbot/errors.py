"""The one app-command error handler.

The member gets a short ephemeral message; the log gets the traceback.
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from discordbot.replies import NO_MENTIONS
from i18n import t
from services.errors import UserError

log = logging.getLogger(__name__)


def _user_error(error: BaseException) -> UserError | None:
    while error is not None:
        if isinstance(error, UserError):
            return error
        error = getattr(error, "original", None) or error.__cause__  # type: ignore[assignment]
    return None


async def tell(interaction: discord.Interaction, text: str) -> None:
    try:
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
    except discord.HTTPException:
        log.warning("could not tell the member about an error", exc_info=True)


async def on_app_command_error(
    interaction: discord.Interaction, error: app_commands.AppCommandError
) -> None:
    command = interaction.command.qualified_name if interaction.command else "?"
    await answer_error(interaction, error, f"command /{command}")


async def answer_error(interaction: discord.Interaction, error: Exception, what: str) -> None:
    """The one answer to a failing command or button: it is never left to time out."""
    from discordbot.language import language_of
    from discordbot.permissions import NotAllowed

    try:
        language = await language_of(interaction)
    except Exception:  # the store may be what failed; English still answers
        language = "en"
    user_error = _user_error(error)
    if user_error is not None:
        await tell(interaction, t(language, user_error.key, **user_error.values))
    elif isinstance(error, NotAllowed):
        await tell(interaction, t(language, f"error.forbidden_{error.needed}"))
    elif isinstance(error, app_commands.NoPrivateMessage):
        await tell(interaction, t(language, "error.guild_only"))
    else:
        log.error("%s failed", what, exc_info=error)
        await tell(interaction, t(language, "error.generic"))
