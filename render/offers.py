"""A new National Assembly motion offered in a guild's news channel (SPEC §9)."""

from __future__ import annotations

from i18n import t
from render.announce import announcement_footer
from render.common import COLOURS, TITLE_LIMIT, Embed, Reply, clip, link
from render.news import embed_url, plain_markdown
from views.offers import OfferView

NAME_LIMIT = 300


def render_offer(
    language: str,
    offer: OfferView,
    *,
    announcement_id: int | None = None,
    tracked_by: int | None = None,
    item_key: str | None = None,
) -> Reply:
    """``tracked_by``: the moderator who started tracking it (the post is then edited)."""
    # The record's text is shown as written, never as Markdown.
    name = plain_markdown(clip(offer.name, NAME_LIMIT))
    proposed = offer.proposed_on.isoformat() if offer.proposed_on else "-"
    lines = [
        f"**{name}**",
        t(language, "offer.bill_no", bill_no=offer.bill_no),
        t(language, "offer.proposed", date=proposed),
    ]
    if offer.link_url and embed_url(offer.link_url):
        lines.append(link(t(language, "offer.link"), offer.link_url))
    if tracked_by is not None:
        lines.append(t(language, "offer.tracked_by", user=f"<@{tracked_by}>", key=item_key or "?"))
    else:
        lines.append(t(language, "offer.hint"))
    embed: Embed = {
        "title": clip(t(language, "offer.title"), TITLE_LIMIT),
        "description": "\n".join(lines),
        "color": COLOURS["muted" if tracked_by is not None else "info"],
    }
    if offer.link_url and embed_url(offer.link_url):
        embed["url"] = offer.link_url
    if announcement_id is not None:
        # The delivery's key, found again in the channel after a crash (as an announcement's).
        embed["footer"] = {"text": announcement_footer(language, announcement_id)}
    return Reply(embeds=[embed])
