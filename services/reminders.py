"""Reminders (SPEC §5): planned in the store, posted once, across restarts and processes.

The plan is rows in the store (storage/queries/reminders.py), not one process's memory:
the deadlines reminders are planned for and each reminded guild's offsets. The sweep
works out from them what is due, so every process sweeps the same plan, and a change
re-plans only its scope by rewriting a handful of rows, under a lock per scope (so an
older plan can never be written over a newer one):

- one guild (its settings, its own deadlines or stage changes): ``replan_guild``;
- an item's shared deadlines, for every guild: ``replan_item``;
- what moved since the last plan (start-up, and periodically as time moves deadlines
  on, or where a change's own re-plan was lost): ``replan``.

A reminder is claimed in the store (its delivery row, which only one claimant can
create) before it is sent, sent with an idempotency key (Discord's message nonce with
enforce_nonce) derived from guild, deadline and offset, and recorded after Discord
accepted it. A process that dies between claim and record leaves the row claimed; the
next start sends it again with the same nonce.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from config.shards import Shards
from services.context import Services
from services.errors import ChannelUnavailable
from services.items import every_guild_item
from storage.engine import writing
from storage.models import TimelineEvent
from storage.queries import reminders as store
from storage.queries.events import stage_events, to_fact
from storage.queries.state import advance_state, get_state
from tracker.items import ItemSpec
from tracker.model import Deadline, StageChangeError
from tracker.offsets import DEFAULT_OFFSETS, OffsetError, parse_offsets
from tracker.reminders import GRACE, Due, Target

log = logging.getLogger(__name__)

# Posts one reminder; returns the message id, or None when it cannot be posted at all
# (the channel is gone), which drops it.
Sender = Callable[[Due, bool], Awaitable[int | None]]
# Looks in the reminder's channel, among the messages since the claim, for the bot's own
# post carrying the reminder's key; returns its id, or None when it is not there.
Finder = Callable[[Due, datetime], Awaitable[int | None]]


# How far back each sweep looks again before the last one: a deadline planned just as a
# sweep ran (its transaction not yet committed) is still found by the next.
SWEEP_OVERLAP = timedelta(minutes=10)
SWEPT_UNTIL = "reminders:swept-until"
# How far back the periodic re-plan looks for custom deadlines a lost follow-up missed
# (several periods: a re-plan that failed is tried again on the next one).
RECENT_CUSTOMS = timedelta(minutes=30)


def _stamp(moment: datetime) -> str:
    # One fixed-width UTC format, so that stamps compare correctly as text.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _offsets(text: str) -> list[int]:
    try:
        parsed = parse_offsets(text or DEFAULT_OFFSETS)
    except OffsetError:
        # Stored before validation tightened: the defaults rather than no reminders.
        parsed = parse_offsets(DEFAULT_OFFSETS)
    return sorted({int(o.total_seconds()) for o in parsed})


def _computed(
    spec: ItemSpec, events: list[TimelineEvent], now: datetime, *, scope: int
) -> list[store.PlannedRow] | None:
    """The item's deadlines from ``events``; None when they break its rules.

    A guild's own history can stop fitting the shared one when the shared history moves
    (a stage recorded both by the guild and, later, by the official data). That scope's
    plan then stays as it was, and every other guild's is still planned.
    """
    try:
        assessment = spec.assess([to_fact(e) for e in events], now)
    except StageChangeError as exc:
        log.warning("not re-planning %s for scope %s: %s", spec.key, scope, exc)
        return None
    return [
        store.PlannedRow(f"{spec.key}/{d.key}", d.kind, d.at, d.effect_at)
        for d in assessment.deadlines
        if d.at > now
    ]


async def reminder_counts(services: Services, *, guild_id: int) -> dict[str, int]:
    """What became of a guild's reminders (for /about): posted, and not posted and why."""
    async with services.sessions() as session:
        return await store.delivery_counts(session, guild_id=guild_id)


class Reminders:
    def __init__(
        self,
        services: Services,
        send: Sender,
        *,
        process: str,
        find: Finder | None = None,
        shards: Shards | None = None,
    ) -> None:
        self.services = services
        self.send = send
        self.find = find
        # This process's share of the guilds (SHARD_COUNT/SHARD_IDS); a test may give
        # two instances on one set of services different shares.
        self.shards = shards or services.settings.shards
        self.process = process
        self.posted = 0
        self._keys: dict[int, str] = {}
        self._hidden: set[int] = set()
        self._owned: dict[int, int] = {}
        self._looked_at_all_customs = False

    def now(self) -> datetime:
        return self.services.clock()

    async def _specs(self, guild_id: int | None = None) -> list[tuple[ItemSpec, int]]:
        """Configured items, and guilds' own (one guild's, or every guild's when None).

        A hidden guild item is kept, in ``_hidden``, so that its plan is emptied.
        """
        ids = self.services.item_ids
        specs = [(spec, ids[spec.key]) for spec in self.services.tracker.items if spec.key in ids]
        owned = await every_guild_item(self.services, visible=False)
        self._hidden |= {o.item_id for o in owned if o.hidden}
        # A guild's own item is planned only in its owner's scope, never shared.
        self._owned.update({o.item_id: o.guild_id for o in owned})
        specs += [(o.spec, o.item_id) for o in owned if guild_id is None or o.guild_id == guild_id]
        return specs

    # --- planning ----------------------------------------------------------------------

    async def replan_guild(self, guild_id: int) -> None:
        """Re-plan one guild: its offsets, its own deadlines, its share of every item's."""
        started, now = time.perf_counter(), self.now()
        specs = await self._specs(guild_id)
        async with writing(self.services.sessions) as session:
            await store.lock(
                session,
                exclusive=[f"guild:{guild_id}"],
                shared=["guilds", *(f"item:{item_id}" for _, item_id in specs)],
            )
            # Everything read first, under the lock, then written: a re-plan that started
            # later cannot have read anything older.
            texts = await store.offset_texts(session, guild_id=guild_id)
            own = await store.own_items(session, guild_id=guild_id)
            computed = {
                item_id: _computed(
                    spec,
                    list(await stage_events(session, item_id=item_id, guild_id=guild_id)),
                    now,
                    scope=guild_id,
                )
                if item_id in own and item_id not in self._hidden
                else []
                for spec, item_id in specs
            }
            await store.sync_offsets(
                session, parsed={t: _offsets(t) for t in texts}, now=now, guild_id=guild_id
            )
            for item_id, deadlines in computed.items():
                await store.replace_computed(
                    session, scope=guild_id, item_id=item_id, deadlines=deadlines, now=now
                )
            await store.sync_customs(session, now=now, guild_id=guild_id)
            await session.commit()
        log.debug(
            "re-planned guild %s in %.0f ms", guild_id, (time.perf_counter() - started) * 1000
        )

    async def replan_item(self, item_id: int) -> None:
        """Re-plan an item's shared deadlines for every guild that shares them."""
        started, now = time.perf_counter(), self.now()
        spec = next(spec for spec, i in await self._specs() if i == item_id)
        async with writing(self.services.sessions) as session:
            await store.lock(session, exclusive=[f"item:{item_id}"])
            events = list(await stage_events(session, item_id=item_id, guild_id=None))
            changed = await store.replace_computed(
                session,
                scope=store.SHARED,
                item_id=item_id,
                deadlines=_computed(spec, events, now, scope=store.SHARED),
                now=now,
            )
            await session.commit()
        log.info(
            "re-planned %s for every guild in %.0f ms (deadlines %s)",
            spec.key,
            (time.perf_counter() - started) * 1000,
            "changed" if changed else "unchanged",
        )

    async def replan(self) -> None:
        """Re-plan what moved since the last plan: at start-up, and periodically.

        Deadlines that time moved on (a new renewal cycle), and what a change's own
        re-plan missed (a process that stopped between the change and its re-plan): the
        offsets rows, the custom deadlines and the computed deadlines are brought in line
        with their sources; rows that did not change are not written.
        """
        started, now = time.perf_counter(), self.now()
        specs = await self._specs()
        async with writing(self.services.sessions) as session:
            await store.lock(
                session, exclusive=["guilds", *(f"item:{item_id}" for _, item_id in specs)]
            )
            texts = await store.offset_texts(session)
            await store.sync_offsets(session, parsed={t: _offsets(t) for t in texts}, now=now)
            # A custom deadline whose own re-plan was lost is a recent one; the first
            # re-plan of a process (after downtime of any length) looks at them all.
            since = now - RECENT_CUSTOMS if self._looked_at_all_customs else None
            await store.sync_customs(session, now=now, added_since=since)
            items, guilds = await self._plan_computed(session, specs, now)
            await session.commit()
        self._looked_at_all_customs = True
        log.info(
            "re-planned in %.0f ms: deadlines moved for %d items and %d guilds",
            (time.perf_counter() - started) * 1000,
            len(items),
            len(guilds),
        )

    async def _plan_computed(
        self, session: AsyncSession, specs: list[tuple[ItemSpec, int]], now: datetime
    ) -> tuple[set[int], set[int]]:
        """Every computed deadline; returns the items and the guilds whose deadlines moved."""
        # One read of every stage change; the rules then run per item and per guild that
        # has stage changes of its own (few), not per guild.
        events = await store.stage_events_by_scope(session)
        items: set[int] = set()
        guilds: set[int] = set()
        for spec, item_id in specs:
            shared = events.get((item_id, None), [])
            if item_id in self._owned:
                # Seen, and so reminded, only in its owner guild; nothing while hidden.
                shared = []
            if await store.replace_computed(
                session,
                scope=store.SHARED,
                item_id=item_id,
                deadlines=_computed(spec, shared, now, scope=store.SHARED),
                now=now,
            ):
                items.add(item_id)
            for (item, guild_id), own in events.items():
                if item != item_id or guild_id is None:
                    continue
                if item_id in self._owned and (
                    guild_id != self._owned[item_id] or item_id in self._hidden
                ):
                    own = []
                merged = sorted([*shared, *own], key=lambda e: (e.occurred_at, e.id or 0))
                if await store.replace_computed(
                    session,
                    scope=guild_id,
                    item_id=item_id,
                    deadlines=_computed(spec, merged, now, scope=guild_id),
                    now=now,
                ):
                    guilds.add(guild_id)
        await store.drop_unowned(session)
        return items, guilds

    async def next_due(self) -> datetime | None:
        """When the soonest owed reminder still ahead falls due (the demo)."""
        async with self.services.sessions() as session:
            ahead = await store.upcoming(session, now=self.now())
        return ahead[0][3] if ahead else None

    # --- posting -----------------------------------------------------------------------

    def _item_key(self, item_id: int) -> str:
        # Built once, not per reminder: a sweep can post 10,000 at one instant. The ids
        # are known only after start-up prepares the database, hence the size check.
        if len(self._keys) != len(self.services.item_ids):
            self._keys = {v: k for k, v in self.services.item_ids.items()}
        return self._keys.get(item_id, "?")

    def _due(self, row: store.OwedReminder) -> Due:
        item_key = self._item_key(row.item_id)
        name = row.deadline_key.removeprefix(f"{item_key}/")
        deadline = Deadline(name, row.kind, row.deadline_at, row.effect_at)
        target = Target(row.item_id, item_key, deadline, row.guild_id, row.title)
        return Due(row.guild_id, target, timedelta(seconds=row.offset_seconds))

    def _marks(self) -> list[str]:
        # One mark per shard: a process down must not have its reminders skipped because
        # another process, sweeping other shards, moved a shared mark on.
        if not self.shards.sharded:
            return [SWEPT_UNTIL]
        return [f"{SWEPT_UNTIL}:{self.shards.count}:{i}" for i in sorted(self.shards.ids)]

    async def sweep(self) -> int:
        """Post every owed reminder that is due, whichever process planned it."""
        now = self.now()
        marks = self._marks()
        async with self.services.sessions() as session:
            stamps = [await get_state(session, key=mark) for mark in marks]
            offsets = await store.offsets_in_use(session)
        # A first sweep looks as far back as the plan goes: the owed rule (planned before
        # due) is what bounds it.
        known = [datetime.fromisoformat(s) for s in stamps if s]
        after = min(known) - SWEEP_OVERLAP if len(known) == len(stamps) else None
        async with writing(self.services.sessions) as session:
            owed, passed = await store.claim_due(
                session,
                now=now,
                after=after,
                by=self.process,
                offsets=offsets,
                shards=self.shards,
            )
            for mark in marks:
                await advance_state(session, key=mark, value=_stamp(now))
            await session.commit()
        if passed:
            log.info("dropped %d reminders whose deadline passed while the bot was down", passed)
        posted = 0
        for row in owed:
            posted += await self._send_and_record(row, now)
        return posted

    async def _send_and_record(self, row: store.OwedReminder, now: datetime) -> int:
        due = self._due(row)
        late = now - row.due_at > GRACE
        try:
            message_id = await self.send(due, late)
        except Exception:
            # One reminder must not stop a sweep or the start; it stays claimed, and the
            # next start sends it again with the same nonce.
            log.exception("sending reminder %s failed", due)
            return 0
        reason = None if message_id is not None else "channel unavailable"
        await self._record(row, message_id, now, late=late, reason=reason)
        if message_id is None:
            return 0
        self.posted += 1
        return 1

    async def finish_unfinished(self) -> int:
        """Settle what a crash left claimed but not recorded: posted or not, exactly once.

        Discord remembers a message nonce for only a few minutes, so a resend after longer
        downtime would post twice. The channel is read first instead (every reminder
        carries its key in its footer): found, it is recorded as posted; not found, it is
        sent, with its nonce; channel gone or access lost, it is dropped with the reason.
        """
        now = self.now()
        async with self.services.sessions() as session:
            rows = await store.unfinished(session, shards=self.shards)
        finished = 0
        for row in rows:
            if row.deadline_at <= now:
                await self._record(row, None, now, reason=store.PASSED)
                continue
            if self.find is not None:
                try:
                    found = await self.find(self._due(row), row.claimed_at or row.due_at)
                except ChannelUnavailable as exc:
                    await self._record(row, None, now, reason=f"channel unavailable: {exc}"[:200])
                    continue
                except Exception:
                    # Unknown: leave it claimed for the next start rather than risk a double.
                    log.exception("looking for reminder %s in its channel failed", row.id)
                    continue
                if found is not None:
                    log.info("reminder %s was posted before the crash (message %s)", row.id, found)
                    await self._record(row, found, now, late=now - row.due_at > GRACE)
                    finished += 1
                    continue
            finished += await self._send_and_record(row, now)
        return finished

    async def _record(
        self,
        row: store.OwedReminder,
        message_id: int | None,
        now: datetime,
        *,
        late: bool = False,
        reason: str | None = None,
    ) -> None:
        async with writing(self.services.sessions) as session:
            await store.record_outcome(
                session,
                delivery_id=row.id,
                message_id=message_id,
                late=late,
                now=now,
                reason=reason,
            )
            await session.commit()
