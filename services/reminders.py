"""Reminders (SPEC §5): planned from the deadlines, posted once, across restarts and processes.

A reminder is claimed in the store (a row that only one claimant can create)
before it is sent, sent with an idempotency key (Discord's message nonce with
enforce_nonce) derived from guild, deadline and offset, and recorded after
Discord accepted it. A process that dies between claim and record leaves the
row claimed; the next start sends it again with the same nonce, which Discord
answers with the message it already created, so nothing is posted twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from services.context import Services
from services.reading import statuses
from storage.engine import writing
from storage.queries import reminders as store
from storage.queries.state import advance_state, get_state
from tracker.offsets import DEFAULT_OFFSETS, OffsetError, parse_offsets
from tracker.reminders import (
    EMPTY_PLAN,
    GRACE,
    CustomColumns,
    Due,
    GuildSchedule,
    ReminderPlan,
    Target,
)

log = logging.getLogger(__name__)

# Posts one reminder; returns the message id, or None when it cannot be posted at all
# (the channel is gone), which drops it.
Sender = Callable[[Due, bool], Awaitable[int | None]]
LAST_SWEEP = "reminders:last-sweep"


def _stamp(moment: datetime) -> str:
    # One fixed-width UTC format, so that stamps compare correctly as text.
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


class Reminders:
    def __init__(self, services: Services, send: Sender, *, process: str) -> None:
        self.services = services
        self.send = send
        self.process = process
        self.plan: ReminderPlan = EMPTY_PLAN
        self.posted = 0
        # When each computed deadline became known (also kept in the store).
        self._known: dict[tuple[int, str, datetime], datetime] = {}
        # Re-plans may overlap (a change's, the periodic one): each is numbered when it
        # starts reading, and a plan is installed only if no later-started one was.
        self._started = 0
        self._installed = 0

    def now(self) -> datetime:
        return self.services.clock()

    async def replan(self) -> ReminderPlan:
        self._started += 1
        number = self._started
        services, now = self.services, self.now()
        async with services.sessions() as session:
            inputs = await store.plan_inputs(session, now=now)
        guilds, own, customs = inputs.guilds, inputs.own, inputs.customs
        keys = {v: k for k, v in services.item_ids.items()}
        targets: list[Target] = []

        async def computed(guild_id: int | None) -> list[int]:
            start = len(targets)
            for status in await statuses(services, guild_id=guild_id, item=None, now=now):
                item_id = services.item_ids[status.spec.key]
                targets.extend(
                    Target(item_id, status.spec.key, d, guild_id or 0)
                    for d in status.assessment.deadlines
                    if d.at > now
                )
            return list(range(start, len(targets)))

        shared = await computed(None)
        computed_count = len(targets)
        columns = CustomColumns(
            ids=[row[0] for row in customs],
            guilds=[row[1] for row in customs],
            items=[row[2] for row in customs],
            item_keys=keys,
            titles=[row[3] for row in customs],
            due=[float(row[4]) for row in customs],
            # A custom deadline became known when it was added: nothing more to record.
            created=[float(row[5]) for row in customs],
        )
        by_guild: dict[int, list[int]] = {}
        for n, guild_id in enumerate(columns.guilds):
            by_guild.setdefault(guild_id, []).append(computed_count + n)
        parsed: dict[str, list[timedelta]] = {}
        schedules = []
        for guild_id, text in guilds:
            mine = await computed(guild_id) if guild_id in own else shared
            if text not in parsed:
                try:
                    parsed[text] = parse_offsets(text or DEFAULT_OFFSETS)
                except OffsetError:
                    parsed[text] = parse_offsets(DEFAULT_OFFSETS)
            schedules.append(
                GuildSchedule(guild_id, parsed[text], [*mine, *by_guild.get(guild_id, [])])
            )
        computed_ids = {(t.scope, t.key, t.deadline.at) for t in targets}
        if computed_ids - self._known.keys():
            self._known.update(
                await store.remember_deadlines(services.sessions, deadlines=computed_ids, now=now)
            )
        known = {d: self._known[d] for d in computed_ids}
        # Seconds of CPU at 10,000 guilds: built in a thread, so the event loop keeps answering.
        plan = await asyncio.to_thread(ReminderPlan, targets, schedules, known, columns)
        if number < self._installed:
            # Read before a change that a later re-plan has already seen: it must not win.
            log.debug("discarded re-plan %d: re-plan %d is newer", number, self._installed)
            return self.plan
        self.plan, self._installed = plan, number
        log.info("planned %d reminders for %d guilds", len(self.plan), len(schedules))
        return self.plan

    async def sweep(self) -> int:
        """Post what fell due since the last sweep (by any process); return how many were posted."""
        now = self.now()
        async with self.services.sessions() as session:
            stamp = await get_state(session, key=LAST_SWEEP)
        # Nothing is owed from before the very first sweep: the bot did not exist then.
        after = datetime.fromisoformat(stamp) if stamp else now
        posted = 0
        for due in self.plan.between(min(after, now), now):
            posted += await self._deliver(due, now)
        async with writing(self.services.sessions) as session:
            await advance_state(session, key=LAST_SWEEP, value=_stamp(now))
            await session.commit()
        return posted

    async def _deliver(self, due: Due, now: datetime) -> int:
        target = due.target
        offset = int(due.offset.total_seconds())
        passed = target.deadline.at <= now
        async with writing(self.services.sessions) as session:
            claimed = await store.claim(
                session,
                guild_id=due.guild_id,
                item_id=target.item_id,
                key=target.key,
                at=target.deadline.at,
                offset=offset,
                due_at=due.due_at,
                state="dropped" if passed else "claimed",
                claimed_by=self.process,
                now=now,
            )
            await session.commit()
        if not claimed or passed:
            if claimed:
                log.info("dropped a reminder whose deadline passed while the bot was down: %s", due)
            return 0
        return await self._send_and_record(due, now)

    async def _send_and_record(self, due: Due, now: datetime) -> int:
        late = now - due.due_at > GRACE
        try:
            message_id = await self.send(due, late)
        except Exception:
            # One reminder must not stop a sweep or the start; it stays claimed, and the
            # next start sends it again with the same nonce.
            log.exception("sending reminder %s failed", due)
            return 0
        async with writing(self.services.sessions) as session:
            await store.record_outcome(
                session,
                guild_id=due.guild_id,
                key=due.target.key,
                at=due.target.deadline.at,
                offset=int(due.offset.total_seconds()),
                message_id=message_id,
                late=late,
                now=now,
            )
            await session.commit()
        if message_id is None:
            return 0
        self.posted += 1
        return 1

    async def finish_unfinished(self) -> int:
        """Send again, with the same nonce, what a crash left claimed but not recorded."""
        now = self.now()
        async with self.services.sessions() as session:
            rows = await store.unfinished(session)
        finished = 0
        for row in rows:
            assert row.id is not None
            target = self.plan.find(row.deadline_key, row.deadline_at)
            if target is None or target.deadline.at <= now:
                async with writing(self.services.sessions) as session:
                    await store.mark(session, delivery_id=row.id, state="dropped")
                    await session.commit()
                continue
            due = Due(row.guild_id, target, target.deadline.at - row.due_at)
            finished += await self._send_and_record(due, now)
        return finished
