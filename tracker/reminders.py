"""Which reminders are owed and when (SPEC §5), as plain computation over deadlines and offsets.

One reminder per guild × deadline × offset, due at deadline − offset. It is
owed only if its due time was not already past when the deadline became known.
The plan keeps due times in flat arrays sorted by time, so that a sweep is a
binary search however many guilds there are.
"""

from __future__ import annotations

import base64
import hashlib
from array import array
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tracker.model import Deadline

# A reminder later than this after its due time is marked late (SPEC §5: within 60 s).
GRACE = timedelta(seconds=60)
NONCE_LENGTH = 25  # Discord's limit for a message nonce


@dataclass(frozen=True, slots=True)
class Target:
    """A deadline as the reminders see it: which item, what it is, who it is for."""

    item_id: int
    item_key: str
    deadline: Deadline
    scope: int  # 0: every guild shares it; else the guild it belongs to
    title: str | None = None

    @property
    def key(self) -> str:
        return f"{self.item_key}/{self.deadline.key}"


@dataclass(frozen=True, slots=True)
class GuildSchedule:
    guild_id: int
    offsets: Sequence[timedelta]
    targets: Sequence[int]  # indexes into the plan's target table


@dataclass(frozen=True, slots=True)
class Due:
    guild_id: int
    target: Target
    offset: timedelta

    @property
    def due_at(self) -> datetime:
        return self.target.deadline.at - self.offset

    @property
    def nonce(self) -> str:
        return reminder_nonce(self.guild_id, self.target.key, self.target.deadline.at, self.offset)


def reminder_nonce(guild_id: int, key: str, deadline_at: datetime, offset: timedelta) -> str:
    """The idempotency key of one reminder: the same inputs always give the same 25 characters."""
    raw = (
        f"{guild_id}|{key}|{deadline_at.astimezone(UTC).isoformat()}|{int(offset.total_seconds())}"
    )
    digest = hashlib.sha256(raw.encode()).digest()
    return base64.b32encode(digest).decode().lower()[:NONCE_LENGTH]


@dataclass(frozen=True, slots=True)
class CustomColumns:
    """Guilds' own deadlines as columns: at scale, one object per deadline costs seconds."""

    ids: Sequence[int]
    guilds: Sequence[int]
    items: Sequence[int]
    item_keys: Mapping[int, str]
    titles: Sequence[str]
    due: Sequence[float]  # POSIX timestamps
    created: Sequence[float]  # when each became known

    def target(self, n: int) -> Target:
        at = datetime.fromtimestamp(self.due[n], UTC)
        deadline = Deadline(f"custom:{self.ids[n]}", "custom", at)
        item = self.items[n]
        return Target(item, self.item_keys.get(item, "?"), deadline, self.guilds[n], self.titles[n])


NO_CUSTOMS = CustomColumns([], [], [], {}, [], [], [])


class ReminderPlan:
    """Every owed reminder, sorted by due time.

    Targets are the computed deadlines (``targets``, a handful per item) followed by
    the guilds' own (``customs``); a schedule's indexes run over both, in that order.
    """

    def __init__(
        self,
        targets: Sequence[Target],
        schedules: Iterable[GuildSchedule],
        known_since: Mapping[tuple[int, str, datetime], datetime],
        customs: CustomColumns = NO_CUSTOMS,
    ) -> None:
        self.targets = list(targets)
        self.customs = customs
        computed = len(self.targets)
        times = array("d")
        guilds = array("q")
        which = array("l")
        offsets = array("l")
        # Per target once, not per guild and offset: its time, and since when it was known.
        at = [t.deadline.at.timestamp() for t in self.targets]
        seen_at = []
        for t in self.targets:
            seen = known_since.get((t.scope, t.key, t.deadline.at))
            seen_at.append(seen.timestamp() if seen is not None else float("-inf"))
        at.extend(customs.due)
        seen_at.extend(customs.created)
        for schedule in schedules:
            seconds = [int(o.total_seconds()) for o in schedule.offsets]
            guild = schedule.guild_id
            for index in schedule.targets:
                deadline_ts, seen_ts = at[index], seen_at[index]
                for offset in seconds:
                    due = deadline_ts - offset
                    if due < seen_ts:
                        continue  # its time had passed before anyone knew of the deadline
                    times.append(due)
                    guilds.append(guild)
                    which.append(index)
                    offsets.append(offset)
        self._computed = computed
        # Sorted by due time through an index, so the other columns need no reordering.
        self._order = array("l", sorted(range(len(times)), key=times.__getitem__))
        self._times = array("d", sorted(times))
        self._guilds, self._which, self._offsets = guilds, which, offsets
        self._custom_index = {cid: n for n, cid in enumerate(customs.ids)}

    def target(self, index: int) -> Target:
        if index < self._computed:
            return self.targets[index]
        return self.customs.target(index - self._computed)

    def find(self, key: str, at: datetime) -> Target | None:
        """The target a delivery row names, if it is still planned at that time."""
        _, _, name = key.partition("/")
        if name.startswith("custom:") and name[7:].isdigit():
            n = self._custom_index.get(int(name[7:]))
            found = self.customs.target(n) if n is not None else None
        else:
            found = next((t for t in self.targets if t.key == key), None)
        return found if found is not None and found.deadline.at == at else None

    def __len__(self) -> int:
        return len(self._times)

    def _at(self, i: int) -> Due:
        j = self._order[i]
        return Due(
            self._guilds[j], self.target(self._which[j]), timedelta(seconds=self._offsets[j])
        )

    def between(self, after: datetime, until: datetime) -> list[Due]:
        """Reminders due in (after, until]."""
        lo = bisect_right(self._times, after.timestamp())
        hi = bisect_right(self._times, until.timestamp())
        return [self._at(i) for i in range(lo, hi)]

    def next_due(self, after: datetime) -> datetime | None:
        i = bisect_right(self._times, after.timestamp())
        return datetime.fromtimestamp(self._times[i], UTC) if i < len(self._times) else None


EMPTY_PLAN = ReminderPlan([], [], {})
