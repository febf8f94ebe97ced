"""A news post: the story, who carried it, when, which items it concerns, what a moderator did."""

from __future__ import annotations

from collections.abc import Sequence

from i18n import t
from render.common import COLOURS, Embed, Reply, clip, moment_text
from storage.models import NewsEntry, NewsPost
from tracker.items import ItemSpec


def render_news(
    language: str,
    post: NewsPost,
    entry: NewsEntry,
    items: Sequence[ItemSpec],
    note: str | None = None,
) -> Reply:
    fields = [
        {
            "name": t(language, "news.outlets"),
            "value": clip(", ".join(post.outlets) or "-", 1024),
            "inline": True,
        },
    ]
    if entry.published_at is not None:
        fields.append(
            {
                "name": t(language, "news.published"),
                "value": moment_text(entry.published_at),
                "inline": True,
            }
        )
    if items:
        fields.append(
            {
                "name": t(language, "news.items"),
                "value": clip(", ".join(i.name(language) for i in items), 1024),
                "inline": False,
            }
        )
    embed: Embed = {
        "title": clip(entry.title, 256),
        "url": entry.url,
        "description": clip(entry.summary or "", 600),
        "color": COLOURS["info"],
        "fields": fields,
        "footer": {"text": t(language, "news.footer", id=post.id)},
    }
    return Reply(content=note, embeds=[embed])
