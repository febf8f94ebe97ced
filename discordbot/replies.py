"""Turning a rendered Reply into what discord.py sends, always with mentions disabled."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import discord

from render.common import CONTENT_LIMIT, Reply, clip

NO_MENTIONS = discord.AllowedMentions.none()


def send_kwargs(reply: Reply) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "embeds": [discord.Embed.from_dict(e) for e in reply.embeds],
        "allowed_mentions": NO_MENTIONS,
    }
    if reply.content:
        kwargs["content"] = clip(reply.content, CONTENT_LIMIT)
    return kwargs


async def respond(
    interaction: discord.Interaction,
    reply: Reply,
    *,
    ephemeral: bool = False,
    view: discord.ui.View | None = None,
    files: Sequence[discord.File] = (),
) -> None:
    """Answer the interaction, or follow up when it was already answered (deferred).

    ``files`` are sent as attachments (a multipart request) with the reply.
    """
    kwargs = send_kwargs(reply)
    if view is not None:
        kwargs["view"] = view
    if files:
        kwargs["files"] = list(files)
    if interaction.response.is_done():
        await interaction.followup.send(ephemeral=ephemeral, **kwargs)
    else:
        await interaction.response.send_message(ephemeral=ephemeral, **kwargs)
