"""A tracked item as configured: names, rules, zone, keywords, sources, seed history."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tracker.model import Assessment, EventFact, Precision
from tracker.rules import RuleSet


@dataclass(frozen=True, slots=True)
class SourceSpec:
    name: str
    url: str


@dataclass(frozen=True, slots=True)
class SeedEvent:
    key: str
    occurred_at: datetime
    precision: Precision
    summary_en: str
    summary_ko: str
    source_name: str
    source_url: str
    stage: str | None = None
    likely: bool = False


@dataclass(frozen=True, slots=True)
class ItemSpec:
    key: str
    name_en: str
    name_ko: str
    kind: str
    rules: RuleSet[Any, Any]
    timezone: ZoneInfo
    keywords_en: tuple[str, ...] = ()
    keywords_ko: tuple[str, ...] = ()
    sources: tuple[SourceSpec, ...] = ()
    seed: tuple[SeedEvent, ...] = field(default=())
    # The bill the item follows in the official record (SPEC §9); None: not linked.
    bill_no: str | None = None

    @property
    def rule_set(self) -> str:
        return self.rules.name

    def name(self, language: str) -> str:
        return self.name_ko if language == "ko" else self.name_en

    def assess(self, events: Iterable[EventFact], now: datetime) -> Assessment:
        return self.rules.assess(events, now)

    def validate(self, events: Sequence[EventFact]) -> None:
        self.rules.validate(events)
