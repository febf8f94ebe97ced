from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import or_
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import GuildSettings, GuildSource, NewsEntry, NewsPost, NewsSource
from storage.queries._insert import insert_ignoring_conflicts, table_of


async def ensure_sources(session: AsyncSession, *, sources: Iterable[tuple[str, str]]) -> None:
    """Configured sources (url, name): created once, serving every guild."""
    rows = [
        {"url": url, "name": name, "from_config": True, "enabled": True, "consecutive_failures": 0}
        for url, name in dict(sources).items()
    ]
    await insert_ignoring_conflicts(
        session, table=table_of(NewsSource), rows=rows, conflict=["url"]
    )


async def due_sources(session: AsyncSession, *, now: datetime) -> Sequence[NewsSource]:
    stmt = select(NewsSource).where(
        col(NewsSource.enabled),
        or_(col(NewsSource.next_poll_at).is_(None), col(NewsSource.next_poll_at) <= now),
    )
    return (await session.exec(stmt.order_by(col(NewsSource.id)))).all()


async def followers(session: AsyncSession, *, source: NewsSource) -> list[tuple[int, int]]:
    """(guild id, news channel id) of the guilds a source posts to."""
    stmt = select(GuildSettings.guild_id, GuildSettings.news_channel_id).where(
        col(GuildSettings.news_channel_id).is_not(None)
    )
    if not source.from_config:
        stmt = stmt.where(
            col(GuildSettings.guild_id).in_(
                select(GuildSource.guild_id).where(col(GuildSource.source_id) == source.id)
            )
        )
    return [(g, c) for g, c in (await session.exec(stmt)).all() if c is not None]


async def known_entry_keys(
    session: AsyncSession, *, source_id: int, keys: Sequence[str]
) -> set[str]:
    stmt = select(NewsEntry.entry_key).where(
        col(NewsEntry.source_id) == source_id, col(NewsEntry.entry_key).in_(list(keys))
    )
    return set((await session.exec(stmt)).all())


async def recent_posts(
    session: AsyncSession, *, guild_id: int, canonical: str, since: datetime
) -> list[tuple[NewsPost, NewsEntry]]:
    """A guild's posts that a new story could repeat: same URL ever, or posted since ``since``."""
    stmt = (
        select(NewsPost, NewsEntry)
        .join(NewsEntry, col(NewsEntry.id) == col(NewsPost.entry_id))
        .where(
            col(NewsPost.guild_id) == guild_id,
            # A story a moderator already added or dismissed is still the same story.
            col(NewsPost.state) != "failed",
            or_(col(NewsEntry.canonical_url) == canonical, col(NewsPost.created_at) >= since),
        )
        .order_by(col(NewsPost.id))
    )
    return [(post, entry) for post, entry in (await session.exec(stmt)).all()]


async def claim_post(session: AsyncSession, *, post_id: int) -> bool:
    """pending -> sending; False when another sweep (or process) took it first."""
    result = await session.exec(
        update(NewsPost)
        .where(col(NewsPost.id) == post_id, col(NewsPost.state) == "pending")
        .values(state="sending")
    )
    return bool(result.rowcount)


async def unsent_posts(session: AsyncSession, *, include_sending: bool) -> Sequence[NewsPost]:
    """Posts to send: pending ones, and (at start) those a crash left half-sent."""
    states = ["pending", "sending"] if include_sending else ["pending"]
    stmt = select(NewsPost).where(col(NewsPost.state).in_(states))
    return (await session.exec(stmt.order_by(col(NewsPost.id)))).all()


async def ensure_guild_source(session: AsyncSession, *, url: str, name: str) -> None:
    rows = [
        {"url": url, "name": name, "from_config": False, "enabled": True, "consecutive_failures": 0}
    ]
    await insert_ignoring_conflicts(
        session, table=table_of(NewsSource), rows=rows, conflict=["url"]
    )


async def source_by_url(session: AsyncSession, *, url: str) -> NewsSource | None:
    return (await session.exec(select(NewsSource).where(col(NewsSource.url) == url))).first()


async def sources_for(session: AsyncSession, *, guild_id: int) -> Sequence[NewsSource]:
    """The sources a guild follows: the configured ones and its own."""
    own = select(GuildSource.source_id).where(col(GuildSource.guild_id) == guild_id)
    stmt = select(NewsSource).where(or_(col(NewsSource.from_config), col(NewsSource.id).in_(own)))
    return (await session.exec(stmt.order_by(col(NewsSource.id)))).all()
