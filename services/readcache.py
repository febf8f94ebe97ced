"""What the read commands need, kept in memory between writes.

A /status or /timeline answer is a pure function of an item's events and the
time, and events change only when someone records one. Reading them from the
database on every interaction costs several round trips, where Discord gives
three seconds and members expect an instant answer; so the last read is kept
here until a write invalidates it: a write through this process when it commits
(``Services.changed``), another process's through a PostgreSQL notification
(storage/notify.py). Entries also expire after ``ttl`` seconds: the only bound
on SQLite, where there are no notifications, and a safety net on PostgreSQL.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime

from services.convert import event_view
from storage.engine import SessionFactory
from storage.queries.events import count_events, latest_event, page_events, stage_events, to_fact
from tracker.items import ItemSpec
from tracker.model import Assessment, EventFact
from views.events import EventView

Scope = tuple[int, int | None]  # (item id, guild id or None for the shared history)


@dataclass(frozen=True, slots=True)
class StatusInputs:
    staged: tuple[EventFact, ...]
    latest: EventView | None
    count: int


class ReadCache:
    def __init__(
        self,
        sessions: SessionFactory,
        *,
        ttl: float = 60.0,
        max_pages: int = 4096,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self.ttl = ttl
        self._max_pages = max_pages
        self._clock = clock
        self._status: dict[Scope, tuple[float, StatusInputs]] = {}
        self._pages: OrderedDict[tuple[Scope, int, int], tuple[float, tuple[EventView, ...]]]
        self._pages = OrderedDict()
        self._assessments: dict[Scope, tuple[StatusInputs, datetime, Assessment]] = {}
        self._memo: OrderedDict[tuple[Hashable, ...], tuple[float, object]] = OrderedDict()
        self.hits = 0
        self.misses = 0
        # Bumped by every invalidation: a read that began before one is returned but not
        # kept, since it may have seen the rows from before the change that caused it.
        self._generation = 0

    def _fresh(self, stamp: float) -> bool:
        return self._clock() - stamp < self.ttl

    async def status_inputs(self, *, item_id: int, guild_id: int | None) -> StatusInputs:
        scope = (item_id, guild_id)
        cached = self._status.get(scope)
        if cached and self._fresh(cached[0]):
            self.hits += 1
            return cached[1]
        self.misses += 1
        stamp, generation = self._clock(), self._generation
        async with self._sessions() as session:
            staged = await stage_events(session, item_id=item_id, guild_id=guild_id)
            latest = await latest_event(session, item_id=item_id, guild_id=guild_id)
            inputs = StatusInputs(
                staged=tuple(to_fact(e) for e in staged),
                latest=event_view(latest) if latest is not None else None,
                count=await count_events(session, item_id=item_id, guild_id=guild_id),
            )
        if generation == self._generation:
            self._status[scope] = (stamp, inputs)
        return inputs

    async def page(
        self, *, item_id: int, guild_id: int | None, page: int, per_page: int
    ) -> tuple[EventView, ...]:
        key = ((item_id, guild_id), page, per_page)
        cached = self._pages.get(key)
        if cached and self._fresh(cached[0]):
            self.hits += 1
            self._pages.move_to_end(key)
            return cached[1]
        self.misses += 1
        stamp, generation = self._clock(), self._generation
        async with self._sessions() as session:
            rows = await page_events(
                session, item_id=item_id, guild_id=guild_id, page=page, per_page=per_page
            )
        events = tuple(event_view(row) for row in rows)
        if generation != self._generation:
            return events
        self._pages[key] = (stamp, events)
        while len(self._pages) > self._max_pages:
            self._pages.popitem(last=False)
        return events

    async def latest_before(
        self, *, item_id: int, guild_id: int | None, before: datetime
    ) -> EventView | None:
        """The latest event at or before ``before``; not kept: it depends on the instant."""
        async with self._sessions() as session:
            row = await latest_event(session, item_id=item_id, guild_id=guild_id, before=before)
        return event_view(row) if row is not None else None

    def assessment(
        self, *, scope: Scope, spec: ItemSpec, inputs: StatusInputs, now: datetime
    ) -> Assessment:
        """The rules' reading at ``now``, reused while the rules say it holds (valid_until)."""
        cached = self._assessments.get(scope)
        if cached is not None:
            source, computed_at, reading = cached
            holds = reading.valid_until is None or now < reading.valid_until
            if source is inputs and computed_at <= now and holds:
                self.hits += 1
                return reading
        reading = spec.assess(inputs.staged, now)
        self._assessments[scope] = (inputs, now, reading)
        return reading

    def recall(self, key: tuple[Hashable, ...]) -> object | None:
        """A derived value remembered under ``key``: ``(item id, guild id or None, ...)``."""
        cached = self._memo.get(key)
        if cached and self._fresh(cached[0]):
            self.hits += 1
            self._memo.move_to_end(key)
            return cached[1]
        return None

    @property
    def generation(self) -> int:
        """Changes with every invalidation; see ``remember``."""
        return self._generation

    def remember(
        self, key: tuple[Hashable, ...], value: object, *, generation: int | None = None
    ) -> None:
        """Keep ``value``, unless invalidated since ``generation`` (taken before reading it)."""
        if generation is not None and generation != self._generation:
            return
        self._memo[key] = (self._clock(), value)
        while len(self._memo) > self._max_pages:
            self._memo.popitem(last=False)

    def invalidate(self, item_id: int | None = None, *, guild_id: int | None = None) -> None:
        """Forget what was read of ``item_id`` (every item when None).

        With ``guild_id``, only that guild's reads (its own events changed); without,
        every guild's (the shared history, which every guild reads, changed).
        """
        self._generation += 1
        if item_id is None:
            self._status.clear()
            self._pages.clear()
            self._assessments.clear()
            self._memo.clear()
            return

        def hit(scope: Scope) -> bool:
            return scope[0] == item_id and (guild_id is None or scope[1] == guild_id)

        for scope in [s for s in self._status if hit(s)]:
            del self._status[scope]
        for scope in [s for s in self._assessments if hit(s)]:
            del self._assessments[scope]
        for key in [k for k in self._pages if hit(k[0])]:
            del self._pages[key]
        for memo in [k for k in self._memo if k[0] == item_id and guild_id in (None, k[1])]:
            del self._memo[memo]
