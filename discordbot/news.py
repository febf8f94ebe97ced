"""Posting news in a guild's news channel, with the moderators' buttons (persistent)."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, cast

import aiohttp
import discord

from discordbot.after import Followup
from discordbot.errors import answer_error, tell
from discordbot.finding import find_own_post
from discordbot.permissions import NotAllowed, ensure
from discordbot.replies import NO_MENTIONS, send_kwargs
from i18n import language_for, t
from render.common import Reply
from render.news import render_digest, render_news
from services.convert import news_entry_view, news_post_view
from services.items import items_for
from services.news import Delivery, Outgoing, Refused, Retry, Sent
from services.news_review import review_story
from services.permissions import Level
from storage.models import NewsPost, NewsSource
from tracker.lookup import resolve_item

if TYPE_CHECKING:
    from discordbot.bot import MotionwatchBot

log = logging.getLogger(__name__)
# Ten digits at most: a post id is an INTEGER; review_story refuses what is still beyond it.
BUTTON_PATTERN = r"news:(?P<action>add|drop):(?P<post>\d{1,10})"


async def _language(bot: MotionwatchBot, guild_id: int) -> str:
    settings = await bot.guild_settings.get(guild_id)
    guild = bot.get_guild(guild_id)
    return language_for(
        settings.language if settings else None, str(guild.preferred_locale) if guild else None
    )


async def _items(bot: MotionwatchBot, guild_id: int, keys: list[str]) -> list[Any]:
    seen = await items_for(bot.services, guild_id)
    return [i for i in (resolve_item(seen.specs, k) for k in keys) if i]


async def _render(bot: MotionwatchBot, language: str, out: Outgoing) -> Reply:
    post, entry = news_post_view(out.post), news_entry_view(out.entry)
    return render_news(language, post, entry, await _items(bot, out.post.guild_id, out.items))


def _buttons(language: str, post_id: int) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(NewsButton("add", post_id, t(language, "news.add")))
    view.add_item(NewsButton("drop", post_id, t(language, "news.dismiss")))
    return view


async def post_news(bot: MotionwatchBot, out: Outgoing) -> Delivery:
    language = await _language(bot, out.post.guild_id)
    view: discord.ui.View | None = None
    if out.post.kind == "digest":
        stories = [news_entry_view(e) for e in (out.entry, *out.also)]
        reply = render_digest(language, news_post_view(out.post), stories, out.source.name)
    else:
        reply = await _render(bot, language, out)
        view = _buttons(language, out.post.id or 0)
    channel = bot.get_partial_messageable(out.post.channel_id, guild_id=out.post.guild_id)
    extra: dict[str, Any] = {"view": view} if view is not None else {}
    try:
        message = await channel.send(**send_kwargs(reply), nonce=f"news{out.post.id}", **extra)
    except (discord.NotFound, discord.Forbidden) as exc:
        log.warning(
            "guild %s: cannot post in news channel %s", out.post.guild_id, out.post.channel_id
        )
        return Refused(f"the news channel is gone or closed to the bot ({exc.status})")
    except discord.HTTPException as exc:
        if 400 <= exc.status < 500:
            # Discord refused this post for what it says: sending it again cannot help.
            return Refused(f"Discord refused the post ({exc.status}: {exc.text[:300]})")
        return Retry(f"Discord answered {exc.status}")
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return Retry(f"network error ({type(exc).__name__})")
    return Sent(message.id)


async def find_news(bot: MotionwatchBot, post: NewsPost) -> int | None:
    """The bot's own message for ``post`` in its news channel, if a crash left it unrecorded."""
    # Its footer reads "News #<id>" (or the digest's, or Korean): the number after '#'.
    mine = re.compile(rf"#{post.id}(?!\d)")
    return await find_own_post(
        bot,
        channel_id=post.channel_id,
        guild_id=post.guild_id,
        since=post.created_at,
        footer_matches=lambda text: mine.search(text) is not None,
    )


async def edit_news(bot: MotionwatchBot, out: Outgoing) -> None:
    if out.post.message_id is None:
        return
    language = await _language(bot, out.post.guild_id)
    reply = await _render(bot, language, out)
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
        # Every click gets an answer: Discord shows "This interaction failed" otherwise.
        try:
            assert interaction.guild_id is not None
            language = await _language(bot, interaction.guild_id)
            await self._review(bot, interaction, language)
        except Exception as exc:
            await answer_error(
                interaction, exc, f"news button {self.action} on post {self.post_id}"
            )

    async def _review(
        self, bot: MotionwatchBot, interaction: discord.Interaction, language: str
    ) -> None:
        assert interaction.guild_id is not None
        try:
            await ensure(interaction, Level.MODERATOR)
        except NotAllowed:
            await tell(interaction, t(language, "error.forbidden_moderator"))
            return
        review = await review_story(
            bot.services,
            bot.news.matcher,
            post_id=self.post_id,
            guild_id=interaction.guild_id,
            actor_id=interaction.user.id,
            action="add" if self.action == "add" else "drop",
            now=bot.now(),
        )
        if review.outcome == "missing" or review.post is None or review.entry is None:
            await tell(interaction, t(language, "error.expired"))
            return
        post = review.post
        if review.outcome == "handled":
            who = f"<@{post.handled_by}>" if post.handled_by else "?"
            key = {
                "added": "news.already_added",
                "adding": "news.being_added",
                "dismissed": "news.already_dismissed",
            }[post.state]
            await tell(interaction, t(language, key, user=who, event=post.event_id or "?"))
            return
        user = f"<@{interaction.user.id}>"
        if self.action == "add":
            note = t(language, "news.added", event=review.event_id, user=user)
        else:
            note = t(language, "news.dismissed", user=user)
        reply = render_news(
            language,
            news_post_view(post),
            news_entry_view(review.entry),
            await _items(bot, interaction.guild_id, list(review.items)),
            note=note,
        )
        followup = Followup()
        if review.change is not None:
            # Announced and planned like any moderator's update.
            announced = review.change.announcement_id is not None
            followup = Followup(
                replan_guild=interaction.guild_id,
                announce_guild=interaction.guild_id if announced else None,
            )
        async with bot.after.replying(followup):
            await interaction.response.edit_message(**send_kwargs(reply), view=None)
