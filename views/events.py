"""A timeline event as members read it: what /status, /timeline and announcements show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class EventView:
    id: int
    occurred_at: datetime
    precision: str  # tracker.model.Precision's value: "date" or "datetime"
    summary_en: str
    summary_ko: str | None = None
    stage: str | None = None
    source_name: str | None = None
    source_url: str | None = None
    recorded_by: int | None = None
    revision: int = 1
    delete_reason: str | None = None
