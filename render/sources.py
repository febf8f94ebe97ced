"""/source list: the feeds a guild follows, and how each is doing."""

from __future__ import annotations

from collections.abc import Sequence

from i18n import t
from render.common import COLOURS, DESCRIPTION_LIMIT, Embed, Reply, clip, stamp
from views.news import NewsSourceView

# Lines one message lists; a guild following more is told of these first ones.
LISTED = 40


def _health(language: str, s: NewsSourceView) -> str:
    if not s.enabled:
        return t(
            language,
            "news.health_disabled",
            failures=s.consecutive_failures,
            error=clip(s.last_error or "-", 120),
            next=stamp(s.next_poll_at, "R") if s.next_poll_at else "-",
        )
    if s.consecutive_failures:
        return t(
            language,
            "news.health_failing",
            failures=s.consecutive_failures,
            error=clip(s.last_error or "-", 120),
        )
    if s.last_success_at is None:
        return t(language, "news.health_never")
    return t(
        language,
        "news.health_ok",
        when=stamp(s.last_success_at, "R"),
        next=stamp(s.next_poll_at, "R") if s.next_poll_at else "-",
    )


def _line(language: str, s: NewsSourceView) -> str:
    scope = t(language, "news.scope_all" if s.from_config else "news.scope_here")
    return t(
        language,
        "news.source_line",
        id=s.id,
        name=s.name,
        scope=scope,
        health=_health(language, s),
    )


def _official_line(language: str, s: NewsSourceView) -> str:
    if not s.enabled:
        health = t(
            language,
            "official.health_disabled",
            failures=s.consecutive_failures,
            error=clip(s.last_error or "-", 120),
            next=stamp(s.next_poll_at, "R") if s.next_poll_at else "-",
        )
    else:
        health = _health(language, s)
    return t(language, "official.source_line", name=s.name, health=health)


def render_sources(
    language: str, sources: Sequence[NewsSourceView], official: NewsSourceView | None = None
) -> Reply:
    """``official``: the official record's source (SPEC §9), listed first when it is polled."""
    lines = [_official_line(language, official)] if official is not None else []
    lines += [_line(language, s) for s in sources[:LISTED]]
    embed: Embed = {
        "title": t(language, "news.source_list_title"),
        "description": clip("\n".join(lines) or t(language, "news.source_none"), DESCRIPTION_LIMIT),
        "color": COLOURS["info"],
    }
    return Reply(embeds=[embed])
