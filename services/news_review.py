"""A moderator's "Add to timeline" or "Not relevant" on a news post: once, whoever clicks.

The click claims the post in the store (one UPDATE that only the first click can make)
before anything else happens, so two moderators pressing together record one event, and
the second is told who was first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from news.match import Matcher
from services import validation as check
from services.context import Services
from services.errors import UserError
from services.items import items_for, own_matcher
from services.moderation import add_update
from services.news import STALE_CLAIM
from storage.engine import writing
from storage.models import NewsEntry, NewsPost, NewsSource
from storage.queries import news as store
from storage.queries.audit import record_audit
from tracker.lookup import resolve_item
from views.changes import Change

log = logging.getLogger(__name__)

Action = Literal["add", "drop"]


@dataclass(frozen=True, slots=True)
class Review:
    """What became of a click.

    ``done``: this click did it (``event_id`` set for an add). ``handled``: someone else's
    click came first (``post`` says who and what). ``missing``: the post is not this
    guild's, or no longer exists.
    """

    outcome: Literal["done", "handled", "missing"]
    post: NewsPost | None = None
    entry: NewsEntry | None = None
    source: NewsSource | None = None
    items: tuple[str, ...] = ()
    event_id: int | None = None
    # For an add: the change, to announce like any moderator's update.
    change: Change | None = None


async def review_story(
    services: Services,
    matcher: Matcher,
    *,
    post_id: int,
    guild_id: int,
    actor_id: int,
    action: Action,
    now: datetime,
) -> Review:
    # A forged custom_id beyond the INTEGER column names no post (and must not reach it).
    if not 1 <= post_id <= check.ID_MAX:
        return Review("missing")
    async with services.sessions() as session:
        post = await session.get(NewsPost, post_id)
        entry = await session.get(NewsEntry, post.entry_id) if post else None
        source = await session.get(NewsSource, entry.source_id) if entry else None
    if post is None or entry is None or source is None or post.guild_id != guild_id:
        return Review("missing")
    own = await own_matcher(services)
    items = tuple(
        matcher.matches(entry.title, entry.summary or "")
        + own.for_guild(guild_id, own.matches(entry.title, entry.summary or ""))
    )
    seen = await items_for(services, guild_id)
    item = resolve_item(seen.specs, items[0]) if items else None
    if action == "add" and item is None:
        raise UserError("invalid.story_no_item")

    async with writing(services.sessions) as session:
        claimed = await store.claim_review(
            session,
            post_id=post_id,
            guild_id=guild_id,
            state="adding" if action == "add" else "dismissed",
            actor_id=actor_id,
            now=now,
            stale_before=now - STALE_CLAIM,
        )
        if claimed and action == "drop":
            # A dismissal hides a story from the review queue: who did it is kept.
            await record_audit(
                session,
                guild_id=guild_id,
                actor_id=actor_id,
                action="news.dismiss",
                target_type="news_post",
                target_id=str(post_id),
                before={"state": post.state},
                after={"state": "dismissed", "title": entry.title, "url": entry.url},
                at=now,
            )
        await session.commit()
    if not claimed:
        async with services.sessions() as session:
            current = await session.get(NewsPost, post_id)
        if current is None or current.state not in ("adding", "added", "dismissed"):
            return Review("missing")
        return Review("handled", current, entry, source, items, current.event_id)
    if action == "drop":
        return Review("done", post, entry, source, items)

    assert item is not None
    try:
        change = await add_update(
            services,
            guild_id=guild_id,
            actor_id=actor_id,
            item=item,
            summary=entry.title,
            stage=None,
            when=(entry.published_at or entry.first_seen_at).isoformat(),
            source_url=entry.url,
            source_name=source.name,
            now=now,
            news_entry_id=entry.id,
        )
    except BaseException:
        # The story could not be added (the member is told why): the post is open again.
        await _set(services, post_id, state="posted", handled_by=None, handled_at=None)
        raise
    await _set(services, post_id, state="added", event_id=change.event.id)
    return Review("done", post, entry, source, items, change.event.id, change)


async def _set(services: Services, post_id: int, **values: object) -> None:
    async with writing(services.sessions) as session:
        await store.settle_review(session, post_id=post_id, values=values)
        await session.commit()
