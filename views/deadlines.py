"""A deadline to come, computed by an item's rules or added by a guild's moderators."""

from __future__ import annotations

from dataclasses import dataclass

from tracker.items import ItemSpec
from tracker.model import Deadline


@dataclass(frozen=True, slots=True)
class DeadlineRow:
    spec: ItemSpec
    deadline: Deadline
    title: str | None = None  # a custom deadline's own title
    custom_id: int | None = None
