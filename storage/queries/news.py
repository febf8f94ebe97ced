from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, exists, func, not_, or_
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from config.shards import Shards
from storage.models import GuildSettings, GuildSource, NewsEntry, NewsPost, NewsSource
from storage.queries._insert import insert_ignoring_conflicts, insert_or_skip, table_of
from storage.queries.shards import owned


async def ensure_sources(session: AsyncSession, *, sources: Iterable[tuple[str, str]]) -> None:
    """Configured sources (url, name): created once, serving every guild.

    A source taken out of the configuration no longer serves every guild: it stays
    followed only by the guilds that added it themselves, if any.
    """
    wanted = dict(sources)
    rows = [
        {"url": url, "name": name, "from_config": True, "enabled": True, "consecutive_failures": 0}
        for url, name in wanted.items()
    ]
    await insert_ignoring_conflicts(
        session, table=table_of(NewsSource), rows=rows, conflict=["url"]
    )
    await session.exec(
        update(NewsSource).where(col(NewsSource.url).in_(list(wanted))).values(from_config=True)
    )
    await session.exec(
        update(NewsSource)
        .where(col(NewsSource.from_config), col(NewsSource.url).not_in(list(wanted)))
        .values(from_config=False)
    )


def _followed() -> Any:
    """A configured source serves every guild; a guild's own only while some guild follows it."""
    return or_(
        col(NewsSource.from_config),
        exists().where(col(GuildSource.source_id) == col(NewsSource.id)),
    )


def _due(now: datetime) -> Any:
    """Followed, and its poll due; a disabled source only when its next probe is."""
    return and_(
        _followed(),
        or_(
            and_(
                col(NewsSource.enabled),
                or_(col(NewsSource.next_poll_at).is_(None), col(NewsSource.next_poll_at) <= now),
            ),
            and_(
                not_(col(NewsSource.enabled)),
                col(NewsSource.next_poll_at).is_not(None),
                col(NewsSource.next_poll_at) <= now,
            ),
        ),
    )


async def lease_due_sources(
    session: AsyncSession, *, now: datetime, lease_until: datetime
) -> Sequence[NewsSource]:
    """The sources due at ``now``, taken for this process alone until ``lease_until``.

    Call it in a ``writing()`` transaction and commit. Their ``next_poll_at`` becomes
    ``lease_until``, so no other process sees them due meanwhile; the poll then sets it
    as usual, and if the process dies first they fall due again when the lease ends.
    Returned as they were before the lease, oldest due first, so that sources a poll
    had to leave (see services/news.py) come first next time.
    """
    stmt = (
        select(NewsSource)
        .where(_due(now))
        .order_by(col(NewsSource.next_poll_at).nulls_first(), col(NewsSource.id))
        # PostgreSQL: rows that another process is leasing right now are passed over,
        # not waited for (they are its to poll); a row it leased and committed no longer
        # passes the re-checked WHERE. SQLite renders no FOR UPDATE and needs none: the
        # writing() transaction (BEGIN IMMEDIATE) already keeps every other writer out.
        .with_for_update(skip_locked=True, of=NewsSource)
    )
    due = (await session.exec(stmt)).all()
    if due:
        await session.exec(
            update(NewsSource)
            .where(col(NewsSource.id).in_([s.id for s in due]))
            .values(next_poll_at=lease_until)
            # The rows returned keep what the poll reads as it was.
            .execution_options(synchronize_session=False)
        )
    return due


async def is_followed(session: AsyncSession, *, source_id: int) -> bool:
    stmt = select(NewsSource.id).where(col(NewsSource.id) == source_id, _followed())
    return (await session.exec(stmt)).first() is not None


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


async def insert_new_entries(
    session: AsyncSession, *, rows: Sequence[dict[str, Any]]
) -> list[NewsEntry]:
    """Store the entries not stored before (by source and entry key); return those, with ids.

    One INSERT .. ON CONFLICT DO NOTHING RETURNING: the entries a feed repeats on every
    poll cost no ORM objects and no separate lookup.
    """
    if not rows:
        return []
    conn = await session.connection()
    table = table_of(NewsEntry)
    stmt = insert_or_skip(conn.dialect.name, table, ["source_id", "entry_key"]).returning(
        table.c.id, table.c.entry_key
    )
    new = {key: id_ for id_, key in (await conn.execute(stmt, list(rows))).all()}
    return [NewsEntry(id=new[r["entry_key"]], **r) for r in rows if r["entry_key"] in new]


async def record_unchanged(
    session: AsyncSession,
    *,
    rows: Sequence[tuple[int, str | None, str | None]],
    now: datetime,
    next_poll_at: datetime,
) -> None:
    """Polls that found nothing new: validators, success and the next poll time, in one go."""
    table = table_of(NewsSource)
    conn = await session.connection()
    stmt = (
        update(table)
        .where(table.c.id == bindparam("sid"))
        .values(
            etag=func.coalesce(bindparam("new_etag"), table.c.etag),
            last_modified=func.coalesce(bindparam("new_modified"), table.c.last_modified),
            consecutive_failures=0,
            last_error=None,
            last_polled_at=now,
            last_success_at=now,
            next_poll_at=next_poll_at,
        )
    )
    await conn.execute(
        stmt,
        [{"sid": sid, "new_etag": etag, "new_modified": modified} for sid, etag, modified in rows],
    )


async def lock_post_planning(session: AsyncSession) -> None:
    """Until the transaction ends, no other process plans news posts (PostgreSQL).

    SQLite needs nothing: its writers already run one at a time.
    """
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_advisory_xact_lock(PLANNING_LOCK)))


# An arbitrary constant naming the lock (pg_advisory_xact_lock takes a bigint).
PLANNING_LOCK = 0x6D77_6E65_7773  # "mwnews"


async def recent_posts(
    session: AsyncSession, *, guild_ids: Sequence[int], canonical: str, since: datetime
) -> list[tuple[NewsPost, NewsEntry]]:
    """The guilds' posts a new story could repeat: same URL ever, or posted since ``since``."""
    stmt = (
        select(NewsPost, NewsEntry)
        .join(NewsEntry, col(NewsEntry.id) == col(NewsPost.entry_id))
        .where(
            col(NewsPost.guild_id).in_(list(guild_ids)),
            # A story a moderator already added or dismissed is still the same story.
            col(NewsPost.state) != "failed",
            or_(col(NewsEntry.canonical_url) == canonical, col(NewsPost.created_at) >= since),
        )
        .order_by(col(NewsPost.id))
    )
    return [(post, entry) for post, entry in (await session.exec(stmt)).all()]


async def finish_post(
    session: AsyncSession,
    *,
    post_id: int,
    state: str,
    message_id: int | None = None,
    posted_at: datetime | None = None,
    failure: str | None = None,
    attempts: int | None = None,
) -> bool:
    """sending -> ``state``; False when the post left "sending" meanwhile (e.g. handled)."""
    values: dict[str, Any] = {"state": state}
    if message_id is not None:
        values["message_id"], values["posted_at"] = message_id, posted_at
    if failure is not None:
        values["failure"] = failure[:500]
    if attempts is not None:
        values["attempts"] = attempts
    result = await session.exec(
        update(NewsPost)
        .where(col(NewsPost.id) == post_id, col(NewsPost.state) == "sending")
        .values(**values)
    )
    return bool(result.rowcount)


async def digested(session: AsyncSession, *, digest_id: int) -> list[NewsEntry]:
    """The stories a digest post lists besides its own, oldest first."""
    stmt = (
        select(NewsEntry)
        .join(NewsPost, col(NewsPost.entry_id) == col(NewsEntry.id))
        .where(col(NewsPost.digest_post_id) == digest_id)
        .order_by(col(NewsPost.id))
    )
    return list((await session.exec(stmt)).all())


async def claim_review(
    session: AsyncSession,
    *,
    post_id: int,
    guild_id: int,
    state: str,
    actor_id: int,
    now: datetime,
    stale_before: datetime,
) -> bool:
    """posted -> ``state`` for one moderator's click; False when another click came first.

    An "adding" left behind by a crash (older than ``stale_before``) may be taken again.
    """
    result = await session.exec(
        update(NewsPost)
        .where(
            col(NewsPost.id) == post_id,
            col(NewsPost.guild_id) == guild_id,
            col(NewsPost.kind) == "story",
            or_(
                col(NewsPost.state).in_(["posted", "sending"]),
                and_(col(NewsPost.state) == "adding", col(NewsPost.handled_at) < stale_before),
            ),
        )
        .values(state=state, handled_by=actor_id, handled_at=now)
    )
    return bool(result.rowcount)


async def settle_review(session: AsyncSession, *, post_id: int, values: dict[str, Any]) -> None:
    """adding -> what the click came to (added, or back to posted when it could not be)."""
    await session.exec(
        update(NewsPost)
        .where(col(NewsPost.id) == post_id, col(NewsPost.state) == "adding")
        .values(**values)
    )


async def claim_post(session: AsyncSession, *, post_id: int) -> bool:
    """pending -> sending; False when another sweep (or process) took it first."""
    result = await session.exec(
        update(NewsPost)
        .where(col(NewsPost.id) == post_id, col(NewsPost.state) == "pending")
        .values(state="sending")
    )
    return bool(result.rowcount)


async def unsent_posts(
    session: AsyncSession, *, include_sending: bool, shards: Shards = Shards.ALL
) -> Sequence[NewsPost]:
    """Posts to send: pending ones, and (at start) those a crash left half-sent; with
    ``shards``, only those for this process's guilds."""
    states = ["pending", "sending"] if include_sending else ["pending"]
    stmt = select(NewsPost).where(col(NewsPost.state).in_(states))
    stmt = stmt.where(owned(col(NewsPost.guild_id), shards))
    return (await session.exec(stmt.order_by(col(NewsPost.id)))).all()


async def ensure_guild_source(session: AsyncSession, *, url: str, name: str) -> None:
    rows = [
        {"url": url, "name": name, "from_config": False, "enabled": True, "consecutive_failures": 0}
    ]
    await insert_ignoring_conflicts(
        session, table=table_of(NewsSource), rows=rows, conflict=["url"]
    )


async def unfollow(session: AsyncSession, *, guild_id: int, source_id: int) -> bool:
    """The guild stops following the source; False when it did not follow it."""
    result = await session.exec(
        delete(GuildSource).where(
            col(GuildSource.guild_id) == guild_id, col(GuildSource.source_id) == source_id
        )
    )
    return bool(result.rowcount)


async def source_by_url(session: AsyncSession, *, url: str) -> NewsSource | None:
    return (await session.exec(select(NewsSource).where(col(NewsSource.url) == url))).first()


async def sources_for(session: AsyncSession, *, guild_id: int) -> Sequence[NewsSource]:
    """The sources a guild follows: the configured ones and its own."""
    own = select(GuildSource.source_id).where(col(GuildSource.guild_id) == guild_id)
    stmt = select(NewsSource).where(or_(col(NewsSource.from_config), col(NewsSource.id).in_(own)))
    return (await session.exec(stmt.order_by(col(NewsSource.id)))).all()


async def last_poll_at(session: AsyncSession) -> datetime | None:
    """When any process last polled any news source; None before the first poll."""
    return (await session.exec(select(func.max(col(NewsSource.last_polled_at))))).one()
