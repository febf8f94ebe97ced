""" "Track it" on a new official motion's post: moderators start a guild item linked to it.

The button is a DynamicItem whose custom_id carries the bill number, so it works after a
restart; the post itself is delivered as an announcement (discordbot/announce.py).
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, cast

import discord

from discordbot.after import Followup
from discordbot.errors import answer_error, tell
from discordbot.language import language_of
from discordbot.permissions import NotAllowed, ensure
from discordbot.replies import NO_MENTIONS, send_kwargs
from i18n import t
from render.offers import render_offer
from services.errors import UserError
from services.offers import track_offered
from services.permissions import Level

if TYPE_CHECKING:
    from discordbot.bot import MotionwatchBot

log = logging.getLogger(__name__)
# As official/bills.BILL_NO: what a bill number may be, bounded.
TRACK_PATTERN = r"track:(?P<bill>[0-9A-Za-z-]{1,20})"


def track_view(language: str, bill_no: str, *, disabled: bool = False) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(TrackButton(bill_no, t(language, "offer.button"), disabled=disabled))
    return view


class TrackButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TRACK_PATTERN):
    """ "Track it": moderators only; working after a restart."""

    def __init__(self, bill_no: str, label: str = "", *, disabled: bool = False) -> None:
        self.bill_no = bill_no
        super().__init__(
            discord.ui.Button(
                label=label or "Track it",
                style=discord.ButtonStyle.primary,
                custom_id=f"track:{bill_no}",
                disabled=disabled,
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> TrackButton:
        return cls(match["bill"])

    async def callback(self, interaction: discord.Interaction) -> None:
        bot = cast("MotionwatchBot", interaction.client)
        # Every click gets an answer: Discord shows "This interaction failed" otherwise.
        try:
            await self._track(bot, interaction)
        except Exception as exc:
            await answer_error(interaction, exc, f"track button on bill {self.bill_no}")

    async def _track(self, bot: MotionwatchBot, interaction: discord.Interaction) -> None:
        guild_id = interaction.guild_id
        if guild_id is None:
            return
        language = await language_of(interaction)
        try:
            await ensure(interaction, Level.MODERATOR)
        except NotAllowed:
            await tell(interaction, t(language, "offer.forbidden"))
            return
        try:
            spec, offer = await track_offered(
                bot.services,
                guild_id=guild_id,
                actor_id=interaction.user.id,
                bill_no=self.bill_no,
                now=bot.now(),
            )
        except UserError as exc:
            if exc.key != "track.bill_taken":
                raise
            await tell(interaction, t(language, "offer.already", bill_no=self.bill_no))
            return
        reply = render_offer(language, offer, tracked_by=interaction.user.id, item_key=spec.key)
        # The post keeps its footer (the delivery's key) and shows who tracked it.
        message = interaction.message
        if message is not None and message.embeds and message.embeds[0].footer.text:
            reply.embeds[0]["footer"] = {"text": message.embeds[0].footer.text}
        async with bot.after.replying(Followup(replan_guild=guild_id)):
            await interaction.response.edit_message(
                **send_kwargs(reply), view=track_view(language, self.bill_no, disabled=True)
            )
            await interaction.followup.send(
                t(
                    language,
                    "offer.created",
                    item=spec.name(language),
                    key=spec.key,
                    bill_no=self.bill_no,
                ),
                ephemeral=True,
                allowed_mentions=NO_MENTIONS,
            )
        log.info("guild %s tracks bill %s as %s", guild_id, self.bill_no, spec.key)
