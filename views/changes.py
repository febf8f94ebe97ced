"""What a moderator's update changed: the event, and what the rules read before and after."""

from __future__ import annotations

from dataclasses import dataclass, field

from tracker.items import ItemSpec
from tracker.model import Assessment, Deadline
from views.events import EventView


@dataclass(frozen=True, slots=True)
class Change:
    action: str  # "added", "edited" or "removed"
    spec: ItemSpec
    event: EventView
    actor_id: int
    before: Assessment
    after: Assessment
    changed_fields: tuple[str, ...] = field(default=())

    @property
    def stage_change(self) -> tuple[str | None, str | None] | None:
        if (self.before.stage, self.before.derived) == (self.after.stage, self.after.derived):
            return None
        return self.before.stage, self.after.stage

    @property
    def moved(self) -> list[tuple[Deadline, Deadline]]:
        old = {d.key: d for d in self.before.deadlines}
        return [
            (old[d.key], d) for d in self.after.deadlines if d.key in old and old[d.key].at != d.at
        ]

    @property
    def appeared(self) -> list[Deadline]:
        old = {d.key for d in self.before.deadlines}
        return [d for d in self.after.deadlines if d.key not in old]

    @property
    def gone(self) -> list[Deadline]:
        new = {d.key for d in self.after.deadlines}
        return [d for d in self.before.deadlines if d.key not in new]
