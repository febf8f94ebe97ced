"""An item's state for one guild: its rules' reading, its latest event, how many it has."""

from __future__ import annotations

from dataclasses import dataclass

from tracker.items import ItemSpec
from tracker.model import Assessment
from views.events import EventView


@dataclass(frozen=True, slots=True)
class ItemStatus:
    spec: ItemSpec
    assessment: Assessment
    latest: EventView | None
    event_count: int
