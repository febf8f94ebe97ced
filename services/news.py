"""News (SPEC §4): poll the feeds, store what is new, post what matters once, per guild.

Per poll, a source's new entries and the posts they call for are stored in one
transaction; posting happens afterwards, from the stored posts, each claimed
(pending -> sending) before it is sent with a nonce and recorded after Discord
accepted it. A crash therefore never loses a story (it stays pending, or is
resent with the same nonce from "sending") and never posts one twice.

With several processes on one database, each poll first leases the sources that are
due (storage/queries/news.py): one process takes each, so a feed is fetched once per
poll, and the feeds of a process that dies mid-poll fall due again when its lease ends.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlmodel.ext.asyncio.session import AsyncSession

from config.shards import Shards
from news.dedup import DEFAULT_WINDOW, canonical_url, find_duplicate, title_key
from news.fetch import fetch_feed
from news.match import Matcher
from news.parse import Entry, ParsedFeed
from news.parser_process import FeedParser
from services import validation as check
from services.context import Services
from services.convert import news_source_view
from services.errors import ChannelUnavailable, UserError
from services.items import OwnMatcher, own_matcher
from storage.engine import writing
from storage.models import GuildSource, NewsEntry, NewsPost, NewsSource
from storage.queries import news as store
from storage.queries.audit import record_audit
from views.news import NewsSourceView

log = logging.getLogger(__name__)

FAILURES_TO_DISABLE = 5
MAX_BACKOFF = timedelta(hours=6)
# A disabled source is probed once after this, then ever less often up to PROBE_MAX.
PROBE_AFTER = timedelta(hours=24)
PROBE_MAX = timedelta(days=7)
CONCURRENCY = 16
FETCH_TIMEOUT = 15.0
MAX_BODY = 2_000_000
# A lease is at least this long when the interval allows (see NewsPoller.lease): the
# timeouts bound a fetch and a parse, not the waits for a slot and for the database.
LEASE_FLOOR = timedelta(seconds=60)
# Stories one poll of one source posts in one guild; the rest go into one digest post.
MAX_POSTS_PER_POLL = 5
# Sends that failed for a passing reason (Discord 5xx, the network) are tried this often.
MAX_ATTEMPTS = 5
# A click on "Add to timeline" that a crash interrupted may be taken again after this.
STALE_CLAIM = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class Unchanged:
    """A source that answered 304 (or the same body): only its bookkeeping changes."""

    source_id: int
    etag: str | None
    last_modified: str | None


@dataclass(frozen=True, slots=True)
class Outgoing:
    post: NewsPost
    entry: NewsEntry
    source: NewsSource
    items: list[str]
    # For a digest post: the other stories it lists after ``entry``.
    also: tuple[NewsEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class Sent:
    message_id: int


@dataclass(frozen=True, slots=True)
class Refused:
    """Discord will not take this post as it is (400, channel gone): never retried."""

    reason: str


@dataclass(frozen=True, slots=True)
class Retry:
    """A passing failure (Discord 5xx, the network): the post is sent again later."""

    reason: str


Delivery = Sent | Refused | Retry
# Posts a story or a digest and says how it went; it does not raise for Discord's answers.
Poster = Callable[[Outgoing], Awaitable[Delivery]]
# Edits a posted story to list the outlets that carried it too.
Editor = Callable[[Outgoing], Awaitable[None]]
# Warns a guild's news channel that a source was disabled.
Warner = Callable[[int, int, NewsSource], Awaitable[None]]
# Looks in a post's channel for the bot's own message of it (its footer names the post);
# returns its id, or None when it is not there; raises ChannelUnavailable.
Finder = Callable[[NewsPost], Awaitable[int | None]]


# Parsing runs in a child process (news/parser_process.py), one feed after another.
FEED_PARSER = FeedParser()


async def parse_off_loop(body: bytes, *, source_url: str, now: datetime) -> ParsedFeed:
    return await FEED_PARSER.parse(body, source_url=source_url, now=now)


def backoff(interval: float, failures: int) -> timedelta:
    """Exponential: the interval doubled per consecutive failure, capped."""
    return min(
        timedelta(seconds=interval * 2 ** min(failures, 32)),
        max(MAX_BACKOFF, timedelta(seconds=interval)),
    )


def probe_delay(failures: int) -> timedelta:
    """How long a disabled source waits for its next probe: a day, doubling, at most a week."""
    return min(PROBE_AFTER * (1 << min(max(failures - FAILURES_TO_DISABLE, 0), 8)), PROBE_MAX)


class NewsPoller:
    def __init__(
        self,
        services: Services,
        *,
        post: Poster,
        edit: Editor,
        warn: Warner,
        find: Finder | None = None,
        shards: Shards | None = None,
    ) -> None:
        self.services = services
        self.post, self.edit, self.warn, self.find = post, edit, warn, find
        # This process's guilds (SHARD_COUNT/SHARD_IDS): it posts theirs, whoever polled.
        self.shards = shards or services.settings.shards
        self.matcher = Matcher(services.tracker.items)
        self._semaphore = asyncio.Semaphore(CONCURRENCY)
        self.last_poll: datetime | None = None
        # Delivery runs beside the polls, so a slow Discord (rate limits) never holds them up.
        self._delivering = asyncio.Lock()
        self._delivery: asyncio.Task[None] | None = None
        self._again = False
        # Per instance, so a test of a hanging or oversize feed need not wait 15 s or send 2 MB.
        self.fetch_timeout = FETCH_TIMEOUT
        self.max_body = MAX_BODY

    def now(self) -> datetime:
        return self.services.clock()

    def lease(self) -> timedelta:
        """How long a poll holds the sources it took before another process may take them.

        Long enough for a live process to fetch and parse a source, even one that waited
        for a slot behind a slow fetch (hence two fetch timeouts and a parse). Never
        longer than the poll interval: the feeds of a process killed mid-poll then fall
        due again no later than they would have after a poll that finished, so another
        process takes them over within a cycle. With an interval shorter than a slow
        source's poll, that source's lease can run out mid-fetch and another process fetch
        it too: its stories are still stored once and posted once.
        """
        bound = max(LEASE_FLOOR, timedelta(seconds=2 * self.fetch_timeout + FEED_PARSER.timeout))
        return min(timedelta(seconds=self.services.settings.news_poll_seconds), bound)

    async def sync_config_sources(self) -> None:
        sources = [(s.url, s.name) for item in self.services.tracker.items for s in item.sources]
        async with writing(self.services.sessions) as session:
            await store.ensure_sources(session, sources=sources)
            await session.commit()

    async def poll_due(self) -> int:
        """Poll the due sources that no other process took, a bounded number at a time;
        return how many this process took.

        What the poll stored is posted by a delivery task started here and not awaited;
        ``drain()`` waits for it.
        """
        now = self.now()
        lease_until = now + self.lease()
        async with writing(self.services.sessions) as session:
            due = await store.lease_due_sources(session, now=now, lease_until=lease_until)
            await session.commit()
        unchanged: list[Unchanged] = []
        polled = await asyncio.gather(
            *(self._poll_guarded(source, unchanged, lease_until) for source in due)
        )
        if left := polled.count(False):
            # More due than this process polls in a lease: they wait for the next poll.
            log.warning(
                "%d of %d sources waited past their lease; left for the next poll", left, len(due)
            )
        if unchanged:
            # Most polls find nothing new: one transaction for all of them, not one each.
            await self._record_unchanged(unchanged)
        self.last_poll = self.now()
        self.deliver_soon()
        return len(due)

    def deliver_soon(self) -> None:
        """Post what is stored and unposted, in the background; one delivery task at a time."""
        if self._delivery is not None and not self._delivery.done():
            self._again = True  # the running task goes round once more
            return
        self._delivery = asyncio.create_task(self._deliver_rounds(), name="news:deliver")

    async def _deliver_rounds(self) -> None:
        while True:
            self._again = False
            try:
                await self.deliver()
            except Exception:  # the store is down, say: the next poll starts it again
                log.exception("delivering news failed")
                return
            if not self._again:
                return

    async def drain(self) -> None:
        """Until the background delivery has posted everything it was asked to."""
        while self._delivery is not None and not self._delivery.done():
            await asyncio.shield(self._delivery)

    async def _poll_guarded(
        self, source: NewsSource, unchanged: list[Unchanged], lease_until: datetime
    ) -> bool:
        """Poll one source, unless its lease ran out while it waited for a slot."""
        async with self._semaphore:
            if self.now() >= lease_until:
                # Another process may have taken it since. Left as it is, it is due, and
                # among the first the next lease takes (oldest due first).
                return False
            try:
                await self.poll(source, unchanged)
            except Exception:  # one bad source must never stop the poller
                log.exception("polling %s failed", source.url)
                try:
                    await self._failed(source, "internal error while polling")
                except Exception:
                    # Not even the failure could be stored (the database is down, say);
                    # the source falls due again when its lease ends, and is tried then.
                    log.exception("recording the failure of %s failed", source.url)
            return True

    async def _record_unchanged(self, unchanged: list[Unchanged]) -> None:
        now = self.now()
        following = now + timedelta(seconds=self.services.settings.news_poll_seconds)
        async with writing(self.services.sessions) as session:
            await store.record_unchanged(
                session,
                rows=[(u.source_id, u.etag, u.last_modified) for u in unchanged],
                now=now,
                next_poll_at=following,
            )
            await session.commit()

    async def poll(self, source: NewsSource, unchanged: list[Unchanged]) -> None:
        settings = self.services.settings
        result = await fetch_feed(
            self.services.http,
            source.url,
            etag=source.etag,
            last_modified=source.last_modified,
            allow_private=settings.allow_private_sources,
            timeout=self.fetch_timeout,
            max_bytes=self.max_body,
        )
        if result.status == "error":
            await self._failed(source, result.error or "error")
            return
        if result.status == "not_modified" or result.body is None:
            # A first poll sends no validators; a server answering 304 anyway still counts.
            # A probe of a disabled source that answers is recorded one by one: it re-enables.
            if source.initialized_at is not None and source.enabled:
                assert source.id is not None
                unchanged.append(Unchanged(source.id, result.etag, result.last_modified))
            else:
                await self._succeeded(source, result.etag, result.last_modified, [])
            return
        # A 2 MB feed is a good fraction of a second of feedparser: off the event loop.
        parsed = await parse_off_loop(result.body, source_url=result.final_url, now=self.now())
        if parsed.problem:
            await self._failed(source, parsed.problem)
            return
        await self._succeeded(source, result.etag, result.last_modified, list(parsed.entries))

    async def _failed(self, source: NewsSource, reason: str) -> None:
        now = self.now()
        async with writing(self.services.sessions) as session:
            row = await session.get(NewsSource, source.id)
            assert row is not None
            failures = row.consecutive_failures + 1
            # Only the step from enabled to disabled warns; a failed probe stays quiet.
            disable = row.enabled and failures >= FAILURES_TO_DISABLE
            row.consecutive_failures, row.last_error = failures, reason[:500]
            row.last_polled_at = now
            if disable or not row.enabled:
                row.next_poll_at = now + probe_delay(failures)
            else:
                row.next_poll_at = now + backoff(self.services.settings.news_poll_seconds, failures)
            if disable:
                row.enabled, row.disabled_at = False, now
            session.add(row)
            guilds = await store.followers(session, source=row) if disable else []
            await session.commit()
        log.warning("source %s failed (%d in a row): %s", source.url, failures, reason)
        for guild_id, channel_id in guilds:
            try:
                await self.warn(guild_id, channel_id, row)
            except Exception:  # one guild's channel must not keep the others unwarned
                log.exception("warning guild %s about %s failed", guild_id, source.url)

    async def _succeeded(
        self,
        source: NewsSource,
        etag: str | None,
        modified: str | None,
        entries: list[Entry],
        *,
        record_only: bool = False,
    ) -> None:
        now = self.now()
        assert source.id is not None
        # Built before the transaction: other writers wait while it is open.
        rows = [
            {
                "source_id": source.id,
                "entry_key": entry.entry_key,
                "url": entry.url,
                "canonical_url": canonical_url(entry.url),
                "title": (entry.title or entry.url)[:500],
                "title_key": title_key(entry.title)[:500],
                "summary": entry.summary or None,
                "published_at": entry.published,
                "first_seen_at": now,
            }
            for entry in {e.entry_key: e for e in entries if e.url}.values()
        ]
        # Read before the write transaction: the guilds' own items and their keywords.
        own = await own_matcher(self.services)
        async with writing(self.services.sessions) as session:
            row = await session.get(NewsSource, source.id)
            assert row is not None
            stored = await store.insert_new_entries(session, rows=rows)
            edits: list[Outgoing] = []
            # The first poll of a source records what is there and posts nothing; so does
            # the first after it was off (disabled, or followed by no guild), since what
            # piled up meanwhile is no longer news.
            if row.initialized_at is not None and row.enabled and not record_only:
                edits = await self._plan_posts(session, row, stored, now, own)
            else:
                row.initialized_at = now
            if not row.enabled:
                log.info("source %s answers again: re-enabled", row.url)
            row.enabled, row.disabled_at = True, None
            row.etag, row.last_modified = etag or row.etag, modified or row.last_modified
            row.consecutive_failures, row.last_error = 0, None
            row.last_polled_at = row.last_success_at = now
            row.next_poll_at = now + timedelta(seconds=self.services.settings.news_poll_seconds)
            session.add(row)
            await session.commit()
        for outgoing in edits:
            await self.edit(outgoing)

    async def _plan_posts(
        self,
        session: AsyncSession,
        source: NewsSource,
        stored: list[NewsEntry],
        now: datetime,
        own: OwnMatcher,
    ) -> list[Outgoing]:
        edits: list[Outgoing] = []
        found = [
            (
                e,
                self.matcher.matches(e.title, e.summary or ""),
                own.matches(e.title, e.summary or ""),
            )
            for e in stored
        ]
        matching = [(e, shared, theirs) for e, shared, theirs in found if shared or theirs]
        if not matching:
            return edits
        # Two outlets' polls carrying one story must not both miss the other's post.
        await store.lock_post_planning(session)
        guilds = await store.followers(session, source=source)
        # Per guild: stories posted by this poll, and the digest that takes the rest.
        posted: dict[int, int] = {}
        digests: dict[int, NewsPost] = {}
        for entry, shared, theirs in matching:
            # One query per story for all the guilds, not one per guild.
            by_guild: dict[int, list[tuple[NewsPost, NewsEntry]]] = {}
            for post, other in await store.recent_posts(
                session,
                guild_ids=[g for g, _ in guilds],
                canonical=entry.canonical_url,
                since=now - DEFAULT_WINDOW,
            ):
                by_guild.setdefault(post.guild_id, []).append((post, other))
            for guild_id, channel_id in guilds:
                # A guild's own items count in that guild only.
                items = shared + own.for_guild(guild_id, theirs)
                if not items:
                    continue
                recent = by_guild.get(guild_id, [])
                by_id = {post.id: (post, other) for post, other in recent}
                duplicate = find_duplicate(
                    (entry.canonical_url, entry.title, entry.published_at or now),
                    (
                        (p.id, e.canonical_url, e.title, e.published_at or e.first_seen_at)
                        for p, e in recent
                    ),
                )
                if duplicate is not None:
                    post, first = by_id[duplicate]
                    if source.name not in post.outlets:
                        post.outlets = [*post.outlets, source.name]
                        session.add(post)
                        if post.message_id is not None:
                            edits.append(Outgoing(post, first, source, items))
                    continue
                post = NewsPost(
                    guild_id=guild_id,
                    entry_id=entry.id or 0,
                    channel_id=channel_id,
                    state="pending",
                    outlets=[source.name],
                    # The 48 h window is measured on the bot's clock, so this is too.
                    created_at=now,
                )
                if posted.get(guild_id, 0) < MAX_POSTS_PER_POLL:
                    posted[guild_id] = posted.get(guild_id, 0) + 1
                elif guild_id not in digests:
                    # One message lists the overflow, however long a feed's burst.
                    post.kind = "digest"
                    digests[guild_id] = post
                    session.add(post)
                    await session.flush()
                    continue
                else:
                    post.state, post.digest_post_id = "digested", digests[guild_id].id
                session.add(post)
        return edits

    async def deliver(self, *, after_crash: bool = False) -> int:
        """Post the stored posts not yet posted; at start also those a crash left sending.

        Never raises for one post: a post Discord refuses is recorded as failed with the
        reason and not tried again, so no story can stop the bot (at start or later).
        """
        async with self._delivering:
            async with self.services.sessions() as session:
                posts = await store.unsent_posts(
                    session, include_sending=after_crash, shards=self.shards
                )
            posted = 0
            for post in posts:
                outcome = await self._deliver_one(post)
                if isinstance(outcome, Sent):
                    posted += 1
                elif isinstance(outcome, Retry):
                    # Discord is struggling: the rest wait for the next round, not pile on.
                    break
            return posted

    async def _deliver_one(self, post: NewsPost) -> Delivery | None:
        assert post.id is not None
        if post.state == "pending":
            async with writing(self.services.sessions) as session:
                claimed = await store.claim_post(session, post_id=post.id)
                await session.commit()
            if not claimed:
                return None
        async with self.services.sessions() as session:
            entry = await session.get(NewsEntry, post.entry_id)
            source = await session.get(NewsSource, entry.source_id) if entry else None
            also = await store.digested(session, digest_id=post.id) if post.kind == "digest" else []
        found = await self._posted_before_a_crash(post)
        if found is not None:
            outcome: Delivery = found
        elif entry is None or source is None:
            outcome = Refused("the story is no longer stored")
        else:
            items = self.matcher.matches(entry.title, entry.summary or "")
            own = await own_matcher(self.services)
            items += own.for_guild(post.guild_id, own.matches(entry.title, entry.summary or ""))
            try:
                outcome = await self.post(Outgoing(post, entry, source, items, tuple(also)))
            except Exception as exc:  # a bug in rendering, say: the same post would fail again
                log.exception("posting news post %s failed", post.id)
                outcome = Refused(f"internal error ({type(exc).__name__})")
        await self._record_outcome(post, outcome)
        return outcome

    async def _posted_before_a_crash(self, post: NewsPost) -> Delivery | None:
        """For a post a crash left "sending": whether Discord has it already.

        Its nonce is remembered for only a few minutes, so after longer downtime a resend
        would post it twice; the channel is read instead (the post's footer names it).
        """
        if post.state != "sending" or self.find is None:
            return None
        try:
            message_id = await self.find(post)
        except ChannelUnavailable as exc:
            return Refused(f"the news channel is gone or closed to the bot ({exc})")
        except Exception:
            # Unknown: sent with its nonce, as before reading the channel was possible.
            log.exception("looking for news post %s in its channel failed", post.id)
            return None
        if message_id is None:
            return None
        log.info("news post %s was posted before the crash (message %s)", post.id, message_id)
        return Sent(message_id)

    async def _record_outcome(self, post: NewsPost, outcome: Delivery) -> None:
        assert post.id is not None
        async with writing(self.services.sessions) as session:
            if isinstance(outcome, Sent):
                await store.finish_post(
                    session,
                    post_id=post.id,
                    state="posted",
                    message_id=outcome.message_id,
                    posted_at=self.now(),
                )
            else:
                # A passing failure goes back to pending, sent again (same nonce) later.
                again = isinstance(outcome, Retry) and post.attempts + 1 < MAX_ATTEMPTS
                if again:
                    log.info("news post %s will be sent again: %s", post.id, outcome.reason)
                else:
                    log.warning("news post %s not posted: %s", post.id, outcome.reason)
                await store.finish_post(
                    session,
                    post_id=post.id,
                    state="pending" if again else "failed",
                    failure=outcome.reason,
                    attempts=post.attempts + 1,
                )
            await session.commit()


@dataclass(frozen=True, slots=True)
class Added:
    source: NewsSource
    entries: int
    matching: int
    # The URL was a source disabled after repeated failures, and this turned it back on.
    reenabled: bool = False


async def add_source(
    poller: NewsPoller, *, guild_id: int, actor_id: int, url: str, name: str | None
) -> Added:
    """/source add: fetch once, count what is there, then follow it.

    When nobody polled the source until now (new, followed by no guild, or disabled after
    repeated failures) the fetch is its first poll: what is there is recorded, and nothing
    posted. Adding a disabled source again is how a moderator turns it back on.
    """
    services = poller.services
    url = check.url("url", url) or ""
    label = check.optional_text("name", name, check.SOURCE_NAME_LIMIT)
    result = await fetch_feed(
        services.http,
        url,
        etag=None,
        last_modified=None,
        allow_private=services.settings.allow_private_sources,
        timeout=poller.fetch_timeout,
        max_bytes=poller.max_body,
    )
    if result.status != "ok" or result.body is None:
        raise UserError("invalid.source_fetch", url=url[:200], reason=result.error or result.status)
    parsed = await parse_off_loop(result.body, source_url=result.final_url, now=poller.now())
    if parsed.problem:
        raise UserError("invalid.source_fetch", url=url[:200], reason=parsed.problem)
    matching = sum(1 for e in parsed.entries if poller.matcher.matches(e.title, e.summary))
    async with writing(services.sessions) as session:
        await store.ensure_guild_source(session, url=url, name=label or _host(url))
        source = await store.source_by_url(session, url=url)
        assert source is not None and source.id is not None
        followed = await session.get(GuildSource, (guild_id, source.id))
        reenabled = not source.enabled
        if (source.from_config or followed is not None) and not reenabled:
            raise UserError("invalid.source_twice", url=url[:200])
        idle = (
            reenabled
            or source.initialized_at is None
            or not await store.is_followed(session, source_id=source.id)
        )
        if followed is None and not source.from_config:
            session.add(GuildSource(guild_id=guild_id, source_id=source.id, added_by=actor_id))
        await record_audit(
            session,
            guild_id=guild_id,
            actor_id=actor_id,
            action="source.enable" if reenabled else "source.add",
            target_type="source",
            target_id=str(source.id),
            before={"enabled": False, "last_error": source.last_error} if reenabled else None,
            after={"url": url, "name": source.name},
            at=poller.now(),
        )
        await session.commit()
    if idle:
        await poller._succeeded(
            source, result.etag, result.last_modified, list(parsed.entries), record_only=True
        )
    return Added(source, len(parsed.entries), matching, reenabled)


async def remove_source(
    services: Services, *, guild_id: int, actor_id: int, source_id: int, now: datetime
) -> NewsSource:
    """/source remove: this guild stops following one of its own sources (audited)."""
    source_id = check.row_id("source_id", source_id)
    async with writing(services.sessions) as session:
        source = await session.get(NewsSource, source_id)
        if source is not None and source.from_config:
            raise UserError("invalid.source_configured", id=source_id)
        if source is None or not await store.unfollow(
            session, guild_id=guild_id, source_id=source_id
        ):
            raise UserError("invalid.source_unknown", id=source_id)
        await record_audit(
            session,
            guild_id=guild_id,
            actor_id=actor_id,
            action="source.remove",
            target_type="source",
            target_id=str(source_id),
            before={"url": source.url, "name": source.name},
            after=None,
            at=now,
        )
        await session.commit()
    return source


async def list_sources(services: Services, *, guild_id: int) -> list[NewsSourceView]:
    """/source list: the configured sources and the guild's own, oldest first."""
    async with services.sessions() as session:
        rows = await store.sources_for(session, guild_id=guild_id)
    return [news_source_view(row) for row in rows]


def _host(url: str) -> str:
    return urlsplit(url).hostname or url
