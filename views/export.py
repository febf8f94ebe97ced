"""A timeline event with every field it is stored with, as /export csv and json give it."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ExportedEvent:
    id: int
    item_key: str
    # None: the shared history every guild sees; else the guild it was recorded in.
    guild_id: int | None
    occurred_at: datetime
    precision: str
    stage: str | None
    summary_en: str
    summary_ko: str | None
    source_name: str | None
    source_url: str | None
    recorded_by: int | None
    recorded_at: datetime
    revision: int
    updated_at: datetime | None
    updated_by: int | None


EXPORT_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ExportedEvent))
