"""Posting news in a guild's news channel, with the moderators' buttons (persistent)."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, cast

import discord

from discordbot.permissions import NotAllowed, ensure
from discordbot.replies import NO_MENTIONS, send_kwargs
from i18n import language_for, t
from render.news import render_news
from services.moderation import add_update
from services.news import Outgoing
from services.permissions import Level
from storage.engine import writing
from storage.models import NewsEntry, NewsPost, NewsSource
from tracker.lookup import resolve_item

if TYPE_CHECKING:
    from discordbot.bot import MotionwatchBot

log = logging.getLogger(__name__)
BUTTON_PATTERN = r"news:(?P<action>add|drop):(?P<post>\d{1,18})"


async def _language(bot: MotionwatchBot, guild_id: int) -> str:
    settings = await bot.guild_settings.get(guild_id)
    guild = bot.get_guild(guild_id)
    return language_for(
        settings.language if settings else None, str(guild.preferred_locale) if guild else None
    )


def _items(bot: MotionwatchBot, keys: list[str]) -> list[Any]:
    return [i for i in (resolve_item(bot.services.tracker.items, k) for k in keys) if i]


def _buttons(language: str, post_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(NewsButton("add", post_id, t(language, "news.add")))
    view.add_item(NewsButton("drop", post_id, t(language, "news.dismiss")))
    return view


async def post_news(bot: MotionwatchBot, out: Outgoing) -> int | None:
    language = await _language(bot, out.post.guild_id)
    reply = render_news(language, out.post, out.entry, _items(bot, out.items))
    channel = bot.get_partial_messageable(out.post.channel_id, guild_id=out.post.guild_id)
    try:
        message = await channel.send(
            **send_kwargs(reply),
            view=_buttons(language, out.post.id or 0),
            nonce=f"news{out.post.id}",
        )
    except (discord.NotFound, discord.Forbidden):
        log.warning(
            "guild %s: cannot post in news channel %s", out.post.guild_id, out.post.channel_id
        )
        return None
    return message.id


async def edit_news(bot: MotionwatchBot, out: Outgoing) -> None:
    if out.post.message_id is None:
        return
    language = await _language(bot, out.post.guild_id)
    reply = render_news(language, out.post, out.entry, _items(bot, out.items))
    message = bot.get_partial_messageable(out.post.channel_id).get_partial_message(
        out.post.message_id
    )
    try:
        await message.edit(**send_kwargs(reply))
    except discord.HTTPException:
        log.warning("could not edit news post %s", out.post.id, exc_info=True)


async def warn_disabled(
    bot: MotionwatchBot, guild_id: int, channel_id: int, source: NewsSource
) -> None:
    language = await _language(bot, guild_id)
    text = t(
        language,
        "news.disabled",
        name=source.name,
        url=source.url,
        failures=source.consecutive_failures,
        error=source.last_error or "-",
    )
    try:
        await bot.get_partial_messageable(channel_id).send(
            text[:2000], allowed_mentions=NO_MENTIONS
        )
    except discord.HTTPException:
        log.warning("guild %s: could not warn about a disabled source", guild_id, exc_info=True)


class NewsButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=BUTTON_PATTERN):
    """'Add to timeline' and 'Not relevant': moderators only, working after a restart."""

    def __init__(self, action: str, post_id: int, label: str = "") -> None:
        self.action, self.post_id = action, post_id
        style = discord.ButtonStyle.primary if action == "add" else discord.ButtonStyle.secondary
        super().__init__(
            discord.ui.Button(
                label=label or action, style=style, custom_id=f"news:{action}:{post_id}"
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> NewsButton:
        return cls(match["action"], int(match["post"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = cast("MotionwatchBot", interaction.client)
        assert interaction.guild_id is not None
        language = await _language(bot, interaction.guild_id)
        try:
            await ensure(interaction, Level.MODERATOR)
        except NotAllowed:
            await interaction.response.send_message(
                t(language, "error.forbidden_moderator"),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
            return
        async with bot.services.sessions() as session:
            post = await session.get(NewsPost, self.post_id)
            entry = await session.get(NewsEntry, post.entry_id) if post else None
            source = await session.get(NewsSource, entry.source_id) if entry else None
        if post is None or entry is None or source is None or post.guild_id != interaction.guild_id:
            await interaction.response.send_message(t(language, "error.expired"), ephemeral=True)
            return
        keys = bot.news.matcher.matches(entry.title, entry.summary or "")
        user = f"<@{interaction.user.id}>"
        if self.action == "add":
            item = resolve_item(bot.services.tracker.items, keys[0]) if keys else None
            if item is None:
                await interaction.response.send_message(
                    t(language, "error.expired"), ephemeral=True
                )
                return
            change = await add_update(
                bot.services,
                guild_id=interaction.guild_id,
                actor_id=interaction.user.id,
                item=item,
                summary=entry.title,
                stage=None,
                when=(entry.published_at or entry.first_seen_at).isoformat(),
                source_url=entry.url,
                source_name=source.name,
                now=bot.now(),
            )
            note, state = t(language, "news.added", event=change.event.id, user=user), "added"
        else:
            note, state = t(language, "news.dismissed", user=user), "dismissed"
        async with writing(bot.services.sessions) as session:
            row = await session.get(NewsPost, self.post_id)
            assert row is not None
            row.state = state
            session.add(row)
            await session.commit()
        reply = render_news(language, post, entry, _items(bot, keys), note=note)
        await interaction.response.edit_message(**send_kwargs(reply), view=None)
