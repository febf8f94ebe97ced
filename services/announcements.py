"""Announcements in the updates channel, each posted once across crashes and downtime.

(The same rows and delivery carry the offers of new official motions to a guild's news
channel, kind "offer": services/offers.py.)

A moderator's change and its announcement are stored in one transaction
(services/moderation.py); posting happens afterwards, from the store: each announcement
is claimed (pending -> sending) before it is sent with a nonce derived from its id, and
recorded posted after Discord accepted it. Discord remembers a nonce for only a few
minutes, so one a crash left "sending" is first looked for in its channel (its footer
names it): found, it is recorded as posted; not found, it is sent; the channel gone or
closed to the bot, it is dropped with the reason. One the process never got to post
(it stopped before the change's follow-up ran) is still pending and goes out at the
next start, or with the next periodic delivery.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from config.shards import Shards
from services.context import Services
from services.errors import ChannelUnavailable
from services.items import items_for
from services.news import Delivery, Refused, Retry, Sent
from storage.engine import writing
from storage.models import Announcement
from storage.queries import announcements as store
from storage.queries.official import OFFER
from views.changes import Change, UnreadablePayload, from_payload
from views.offers import OfferView, offer_from_payload

log = logging.getLogger(__name__)

# Sends that failed for a passing reason (Discord 5xx, the network) are tried this often.
MAX_ATTEMPTS = 5
# A row "sending" for longer than this is taken for one whose process died (or could not
# record the outcome): the periodic delivery settles it. Sends take seconds, not minutes.
STALE_CLAIM = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One announcement to post (or to look for), as the Discord side needs it."""

    id: int
    guild_id: int
    channel_id: int
    change: Change | None  # None when the stored change could not be read back
    # Since when it may have been posted: looking for it in the channel starts there.
    since: datetime
    # A new motion offered in the news channel (kind "offer") rather than a change.
    offer: OfferView | None = None

    @property
    def nonce(self) -> str:
        # Discord takes up to 25 characters; unique per announcement, the same on every try.
        return f"announce{self.id}"


# Posts one announcement and says how it went; it does not raise for Discord's answers.
Sender = Callable[[Outgoing], Awaitable[Delivery]]
# Looks in the announcement's channel for the bot's own message of it (its footer names
# it); returns its id, or None when it is not there; raises ChannelUnavailable.
Finder = Callable[[Outgoing], Awaitable[int | None]]


async def announcement_counts(services: Services, *, guild_id: int) -> dict[str, int]:
    """What became of a guild's announcements (for /about): posted, dropped, waiting."""
    async with services.sessions() as session:
        return await store.counts(session, guild_id=guild_id)


class Announcements:
    def __init__(
        self,
        services: Services,
        *,
        send: Sender,
        find: Finder | None = None,
        shards: Shards | None = None,
    ) -> None:
        self.services = services
        self.send, self.find = send, find
        # This process's guilds (SHARD_COUNT/SHARD_IDS): it posts theirs only.
        self.shards = shards or services.settings.shards
        # One delivery at a time per guild, so a guild's announcements go out in order and
        # a row this process is sending is never taken for a crash's leftover.
        self._guild_locks: weakref.WeakValueDictionary[int, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def now(self) -> datetime:
        return self.services.clock()

    def _lock(self, guild_id: int) -> asyncio.Lock:
        lock = self._guild_locks.get(guild_id)
        if lock is None:
            lock = self._guild_locks[guild_id] = asyncio.Lock()
        return lock

    async def deliver(self, *, guild_id: int | None = None, after_crash: bool = False) -> int:
        """Post what is pending (of ``guild_id`` only, when given); returns how many went out.

        Also settles rows left "sending": every one at start (``after_crash``), where no
        send of this process can be under way; later only those claimed long ago. Never
        raises for one announcement: one Discord refuses is dropped with the reason.
        """
        async with self.services.sessions() as session:
            rows = await store.to_deliver(
                session,
                shards=self.shards,
                guild_id=guild_id,
                every_sending=after_crash,
                sending_claimed_before=self.now() - STALE_CLAIM,
            )
        by_guild: dict[int, list[Announcement]] = {}
        for row in rows:
            by_guild.setdefault(row.guild_id, []).append(row)
        posted = 0
        for guild, guild_rows in by_guild.items():
            async with self._lock(guild):
                for row in guild_rows:
                    outcome = await self._deliver_one(row)
                    if isinstance(outcome, Sent):
                        posted += 1
                    elif isinstance(outcome, Retry):
                        # Discord is struggling: the rest wait for the next round, in order.
                        return posted
        return posted

    async def _deliver_one(self, row: Announcement) -> Delivery | None:
        assert row.id is not None
        leftover = row.state == "sending"
        if not leftover:
            async with writing(self.services.sessions) as session:
                claimed = await store.claim(session, announcement_id=row.id, now=self.now())
                await session.commit()
            if not claimed:
                return None  # another delivery (or process) has it
        change: Change | None = None
        offer: OfferView | None = None
        seen = await items_for(self.services, row.guild_id)
        try:
            if row.kind == OFFER:
                offer = offer_from_payload(row.payload)
            else:
                change = from_payload(row.payload, seen.specs)
        except UnreadablePayload as exc:
            log.warning("announcement %s cannot be read back: %s", row.id, exc)
        out = Outgoing(
            row.id, row.guild_id, row.channel_id, change, row.claimed_at or row.created_at, offer
        )
        if offer is not None and not leftover and seen.by_bill_no(offer.bill_no) is not None:
            # The guild started following it (/track motion) before the offer went out.
            outcome: Delivery | None = Refused("the guild follows the bill already")
        else:
            outcome = await self._settle_leftover(out) if leftover else await self._send(out)
        if outcome is not None:
            await self._record(row, outcome)
        return outcome

    async def _settle_leftover(self, out: Outgoing) -> Delivery | None:
        """A row a crash (or a failed record) left "sending": was it posted?

        Its nonce is remembered for only a few minutes, so after longer downtime a resend
        would post it twice; the channel is read first (the post's footer names it).
        None when that could not be told: the row stays as it is, looked at again later.
        """
        if self.find is None:
            return await self._send(out)
        try:
            message_id = await self.find(out)
        except ChannelUnavailable as exc:
            return Refused(f"the updates channel is gone or closed to the bot ({exc})")
        except Exception:
            # Unknown: sending now might post it twice.
            log.exception("looking for announcement %s in its channel failed", out.id)
            return None
        if message_id is None:
            return await self._send(out)
        log.info("announcement %s was posted before the crash (message %s)", out.id, message_id)
        return Sent(message_id)

    async def _send(self, out: Outgoing) -> Delivery:
        if out.change is None and out.offer is None:
            return Refused("the change can no longer be read (its item is no longer tracked?)")
        try:
            return await self.send(out)
        except Exception as exc:  # a bug in rendering, say: the same post would fail again
            log.exception("posting announcement %s failed", out.id)
            return Refused(f"internal error ({type(exc).__name__})")

    async def _record(self, row: Announcement, outcome: Delivery) -> None:
        assert row.id is not None
        async with writing(self.services.sessions) as session:
            if isinstance(outcome, Sent):
                await store.finish(
                    session,
                    announcement_id=row.id,
                    state="posted",
                    message_id=outcome.message_id,
                    posted_at=self.now(),
                )
            else:
                # A passing failure goes back to pending, sent again (same nonce) later.
                again = isinstance(outcome, Retry) and row.attempts + 1 < MAX_ATTEMPTS
                if again:
                    log.info("announcement %s will be sent again: %s", row.id, outcome.reason)
                else:
                    log.warning("announcement %s not posted: %s", row.id, outcome.reason)
                await store.finish(
                    session,
                    announcement_id=row.id,
                    state="pending" if again else "dropped",
                    reason=outcome.reason,
                    attempts=row.attempts + 1,
                )
            await session.commit()
