"""/timeline: an item's history, ten events a page, with previous/next buttons.

The buttons are DynamicItems: their custom id carries the item and the page,
so they keep working after a restart without any state kept in memory.
"""

from __future__ import annotations

import io
import re
from typing import Any

import discord
from discord import Interaction, app_commands
from discord.app_commands import Choice
from discord.ext import commands

from cogs.common import bot_of, item_autocomplete
from discordbot.bot import MotionwatchBot
from discordbot.errors import answer_error
from discordbot.language import language_of
from discordbot.replies import respond, send_kwargs
from discordbot.timeline import timeline_reply
from discordbot.translator import L
from i18n import t
from render.chart import chart_reply
from render.common import Reply
from services.charts import timeline_chart
from services.items import items_for
from services.reading import require_item
from services.validation import ITEM_LIMIT
from tracker.items import ItemSpec
from tracker.lookup import resolve_item

VIEWS = ("list", "chart")
PAGE_PATTERN = r"tl:(?P<item>[a-z0-9_-]{1,32}):(?P<page>\d{1,6}):(?P<dir>[pn])"


class TimelinePageButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=PAGE_PATTERN):
    def __init__(
        self, item_key: str, page: int, direction: str, label: str = "", disabled: bool = False
    ) -> None:
        self.item_key, self.page, self.direction = item_key, page, direction
        super().__init__(
            discord.ui.Button(
                label=label or ("◀" if direction == "p" else "▶"),
                style=discord.ButtonStyle.secondary,
                custom_id=f"tl:{item_key}:{page}:{direction}",
                disabled=disabled,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> TimelinePageButton:
        return cls(match["item"], int(match["page"]), match["dir"])

    async def callback(self, interaction: Interaction) -> None:
        try:
            await self._turn(interaction)
        except Exception as exc:
            await answer_error(interaction, exc, f"timeline page {self.custom_id}")

    async def _turn(self, interaction: Interaction) -> None:
        bot = bot_of(interaction)
        seen = await items_for(bot.services, interaction.guild_id)
        spec = resolve_item(seen.specs, self.item_key)
        language = await language_of(interaction)
        if spec is None:
            await interaction.response.send_message(t(language, "error.expired"), ephemeral=True)
            return
        # Events may have been removed since the message was sent: stay in range.
        reply = await timeline_reply(
            bot.services,
            guild_id=interaction.guild_id,
            item=spec,
            page=self.page,
            language=language,
            clamp=True,
        )
        kwargs = send_kwargs(reply)
        kwargs.pop("allowed_mentions")
        await interaction.response.edit_message(
            view=pager(language, spec.key, reply),
            allowed_mentions=discord.AllowedMentions.none(),
            **kwargs,
        )


def pager(language: str, item_key: str, reply: Reply) -> discord.ui.View:
    page, pages = reply.page or 1, reply.pages or 1
    view = discord.ui.View(timeout=None)
    view.add_item(
        TimelinePageButton(item_key, page - 1, "p", t(language, "timeline.previous"), page <= 1)
    )
    view.add_item(
        TimelinePageButton(item_key, page + 1, "n", t(language, "timeline.next"), page >= pages)
    )
    return view


class TimelineCog(commands.Cog):
    def __init__(self, bot: MotionwatchBot) -> None:
        self.bot = bot

    @app_commands.command(name=L("cmd.timeline.name"), description=L("cmd.timeline.description"))
    @app_commands.rename(
        item=L("opt.item.name"), page=L("opt.page.name"), view=L("chart.opt_view.name")
    )
    @app_commands.describe(
        item=L("opt.item.description"),
        page=L("opt.page.description"),
        view=L("chart.opt_view.description"),
    )
    @app_commands.choices(view=[Choice(name=L(f"chart.view.{v}"), value=v) for v in VIEWS])
    @app_commands.autocomplete(item=item_autocomplete)
    async def timeline(
        self,
        interaction: Interaction,
        item: app_commands.Range[str, 1, ITEM_LIMIT] | None = None,
        page: app_commands.Range[int, 1, 100000] = 1,
        view: Choice[str] | None = None,
    ) -> None:
        bot = bot_of(interaction)
        spec = await require_item(bot.services, item, guild_id=interaction.guild_id)
        language = await language_of(interaction)
        if view is not None and view.value == "chart":
            await self._chart(interaction, spec, language)
            return
        reply = await timeline_reply(
            bot.services, guild_id=interaction.guild_id, item=spec, page=page, language=language
        )
        await respond(interaction, reply, view=pager(language, spec.key, reply))

    async def _chart(self, interaction: Interaction, spec: ItemSpec, language: str) -> None:
        # The first chart of a process imports matplotlib and loads the font (~1 s),
        # and a busy machine may double that: defer rather than risk the 3 s window.
        await interaction.response.defer(thinking=True)
        bot = bot_of(interaction)
        now = bot.services.clock()
        png = await timeline_chart(
            bot.services,
            guild_id=interaction.guild_id,
            item=spec,
            language=language,
            fmt="png",
            now=now,
        )
        chart = discord.File(io.BytesIO(png), filename=f"{spec.key}-chart.png")
        await respond(interaction, chart_reply(language, spec, now), files=[chart])


async def setup(bot: MotionwatchBot) -> None:
    bot.add_dynamic_items(TimelinePageButton)
    await bot.add_cog(TimelineCog(bot))
