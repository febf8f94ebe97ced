"""Value types shared by the rule sets and everything that reads them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Precision(StrEnum):
    """How precisely an event's time is known; a date-only event is stored at local 00:00."""

    DATE = "date"
    DATETIME = "datetime"


@dataclass(frozen=True, slots=True)
class EventFact:
    """What a rule set needs to know of one timeline event."""

    occurred_at: datetime
    stage: str | None = None
    precision: Precision = Precision.DATETIME
    # Tie-breaker for events at the same instant (the store's id, or seed order).
    order: int = 0


FactValue = int | bool | str | datetime | None


@dataclass(frozen=True, slots=True)
class Moment:
    """A time in a status line; each reader writes it its own way.

    ``style``: "moment" a date and time (with a countdown where the reader can),
    "time" a date and time, "day" the local date alone, "by_end_of" a deadline at
    local 00:00 read as "by the end of" the day before.
    """

    at: datetime
    style: str = "moment"


# A value of a status line: words by language ({"en": "Seoul", "ko": "한국 정부"}) are
# picked in the reader's language.
LineValue = int | str | Moment | Mapping[str, str]


@dataclass(frozen=True, slots=True)
class StatusLine:
    """One fact of an item's status, in its rule set's catalog words.

    Label ``rules.<rule set>.status.<key>``, text ``<key>_value`` and, when the
    catalog has it, a second line ``<key>_note``, each filled in with ``values``.
    """

    key: str
    values: Mapping[str, LineValue] = field(default_factory=dict)
    inline: bool = False


@dataclass(frozen=True, slots=True)
class Deadline:
    """A moment the rules say matters.

    ``key`` names the deadline independently of its time ("window-closes",
    "notice:2027-11-23"), so that a deadline which moves keeps its identity
    and its reminders can be planned again.
    """

    key: str
    kind: str
    at: datetime
    # What the deadline decides about, e.g. the renewal a notice deadline governs.
    effect_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    """An item's state at one instant, as its rule set reads the events."""

    stage: str | None
    since: datetime | None
    # True when the rules reached the stage without anyone recording it
    # (a motion deemed discarded, an agreement ended at its term end).
    derived: bool
    facts: Mapping[str, FactValue] = field(default_factory=dict)
    deadlines: tuple[Deadline, ...] = ()
    # The first instant after which this reading may differ (a deadline, a term end, a
    # recorded future event); until then it holds for any later "now". None: never.
    valid_until: datetime | None = None

    @property
    def next_deadline(self) -> Deadline | None:
        return self.deadlines[0] if self.deadlines else None


class StageChangeError(ValueError):
    """A stage change the item's rule set does not allow; the message says why."""

    def __init__(
        self,
        message: str,
        *,
        order: int | None = None,
        code: str = "transition",
        details: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__(message)
        # The refused event's ``EventFact.order``, so a caller can point at it.
        self.order = order
        # What went wrong, for a message in the member's language: "not_a_stage",
        # "transition", "vote_too_early", "needs_entry"; ``details`` fill it in.
        self.code = code
        self.details: Mapping[str, object] = details or {}
