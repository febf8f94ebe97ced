"""A news post: the story, who carried it, when, which items it concerns, what a moderator did."""

from __future__ import annotations

import re
from collections.abc import Sequence

from i18n import t
from render.common import (
    COLOURS,
    DESCRIPTION_LIMIT,
    TITLE_LIMIT,
    Embed,
    Reply,
    clip,
    moment_text,
)
from tracker.items import ItemSpec
from views.news import NewsEntryView, NewsPostView


def render_news(
    language: str,
    post: NewsPostView,
    entry: NewsEntryView,
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
        "title": clip(entry.title, TITLE_LIMIT),
        "description": clip(plain_markdown(entry.summary or ""), 600),
        "color": COLOURS["info"],
        "fields": fields,
        "footer": {"text": t(language, "news.footer", id=post.id)},
    }
    if embed_url(entry.url):
        embed["url"] = entry.url
    return Reply(content=note, embeds=[embed])


# Discord refuses a whole message over one embed URL it does not like.
EMBED_URL_LIMIT = 2048
# Stories a digest lists by name; the rest are counted.
DIGEST_LISTED = 15


# Characters Discord reads as Markdown in a description: a feed's text is shown as written,
# never as a masked link ("[gov.kr](https://elsewhere)"), a heading or a spoiler.
_MARKDOWN = re.compile(r"([\\*_~`|>#\[\]()<-])")


def plain_markdown(text: str) -> str:
    return _MARKDOWN.sub(r"\\\1", text)


def embed_url(url: str | None) -> bool:
    """Whether Discord takes ``url`` as an embed's link (stories stored before cleaning)."""
    return bool(
        url
        and len(url) <= EMBED_URL_LIMIT
        and url.startswith(("http://", "https://"))
        and not any(c.isspace() or ord(c) < 32 for c in url)
    )


def render_digest(
    language: str, post: NewsPostView, entries: Sequence[NewsEntryView], outlet: str
) -> Reply:
    """One message for the stories of a poll beyond those posted one by one."""
    lines = []
    for entry in entries[:DIGEST_LISTED]:
        title = plain_markdown(clip(entry.title, 150))
        # Markdown link syntax ends at ")": percent-encoded, the link still works.
        url = entry.url.replace("(", "%28").replace(")", "%29")
        lines.append(f"• [{title}]({url})" if embed_url(url) else f"• {title}")
    if len(entries) > DIGEST_LISTED:
        lines.append(t(language, "news.digest_more", count=len(entries) - DIGEST_LISTED))
    embed: Embed = {
        "title": clip(
            t(language, "news.digest_title", count=len(entries), outlet=outlet), TITLE_LIMIT
        ),
        "description": clip("\n".join(lines), DESCRIPTION_LIMIT),
        "color": COLOURS["muted"],
        "footer": {"text": clip(t(language, "news.digest_footer", id=post.id), 2048)},
    }
    return Reply(embeds=[embed])
