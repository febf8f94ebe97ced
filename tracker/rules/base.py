"""What every rule set shares: parameters, the transition table, and one fold over events.

A rule set reads an item's events in time order. Between two events the rules
may move the item on by themselves (a motion's vote window closes, a notice
takes effect at a term end): ``advance`` does that. ``apply`` takes one
recorded stage change, refusing it when the table or the rule set forbids it.
``validate`` and ``assess`` are the same fold, so what is accepted is exactly
what the status is computed from.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, Generic, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from tracker.model import Assessment, EventFact, Precision, StageChangeError, StatusLine
from tracker.timeutil import day_start, ensure_utc, local_date


class RuleParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class FoldState:
    stage: str | None = None
    since: datetime | None = None
    derived: bool = False


P = TypeVar("P", bound=RuleParams)
S = TypeVar("S", bound=FoldState)


def counts_from(event: EventFact, tz: ZoneInfo) -> datetime:
    """When ``event`` starts to count for the stage: a day-precision one once its day is over.

    A date-only event happened at some unknown time that day, so until the day
    ends the rules cannot say it has happened (GSOMIA was not in force at 00:00
    on the day it was signed). It is still shown on its date.
    """
    at = ensure_utc(event.occurred_at)
    if event.precision == Precision.DATE:
        return day_start(local_date(at, tz) + timedelta(days=1), tz)
    return at


class RuleSet(ABC, Generic[P, S]):
    """One rule set bound to one item's parameters and time zone."""

    name: ClassVar[str]
    # What it governs, in a word ("agreement", "motion"): an item's configuration names
    # it too, as a check that the rule set is the one meant.
    kind: ClassVar[str]
    params_model: ClassVar[type[RuleParams]]
    stages: ClassVar[tuple[str, ...]]
    # Allowed next stages; the key None is the first stage an item may record.
    transitions: ClassVar[Mapping[str | None, frozenset[str]]]
    # Each stage's tone, for colours: "ok", "info", "warn", "alert" or "muted".
    tones: ClassVar[Mapping[str, str]] = {}

    def __init__(self, params: P, tz: ZoneInfo) -> None:
        self.params = params
        self.tz = tz

    # -- words: every text is in the catalogs under rules.<name> ------------------

    @classmethod
    def words(cls, *parts: str) -> str:
        """The catalog key ``rules.<name>.<parts>``: stage.<stage>, deadline.<kind>,
        meaning.<kind>, status.<line>, invalid.<code>."""
        return ".".join(("rules", cls.name, *parts))

    def stage_word(self, assessment: Assessment) -> str | None:
        """Which ``stage.*`` entry names the assessed stage (the reading may say more)."""
        return assessment.stage

    def tone(self, assessment: Assessment) -> str:
        return self.tones.get(self.stage_word(assessment) or "", "info")

    def status_lines(self, assessment: Assessment) -> list[StatusLine]:
        """The facts /status, the web page and --check show after the stage, in order."""
        return []

    def next_stages(self, assessment: Assessment) -> frozenset[str]:
        """The stages a moderator may record after the assessed one (for suggestions)."""
        return self.transitions.get(assessment.stage, frozenset())

    @classmethod
    def parse_params(cls, raw: Mapping[str, Any]) -> RuleParams:
        """Validate raw parameters (pydantic errors name the offending key)."""
        return cls.params_model.model_validate(dict(raw))

    # -- the fold -------------------------------------------------------------

    @abstractmethod
    def initial_state(self) -> S: ...

    @abstractmethod
    def advance(self, state: S, until: datetime) -> S:
        """Apply the changes the rules make by themselves up to ``until``."""

    def apply(self, state: S, event: EventFact) -> S:
        """Record ``event``'s stage change on ``state``, or raise StageChangeError."""
        assert event.stage is not None
        self.check_transition(state, event)
        return replace(state, stage=event.stage, since=event.occurred_at, derived=False)

    def check_transition(self, state: S, event: EventFact) -> None:
        new = event.stage
        if new not in self.stages:
            allowed = ", ".join(self.stages)
            raise StageChangeError(
                f"stage: '{new}' is not a stage of rule set '{self.name}' (stages: {allowed})",
                code="not_a_stage",
                details={"stage": new, "stages": allowed},
            )
        allowed_next = self.transitions.get(state.stage, frozenset())
        if new in allowed_next:
            return
        current = state.stage or "(no stage yet)"
        when = f" on {event.occurred_at.astimezone(self.tz):%Y-%m-%d %H:%M %Z}"
        derived = " (reached by the rules)" if state.derived else ""
        options = ", ".join(s for s in self.stages if s in allowed_next) or "nothing: it is final"
        raise StageChangeError(
            f"stage: '{new}'{when} cannot follow '{current}'{derived} under rule set "
            f"'{self.name}'; after '{current}' it allows: {options}",
            details={
                "stage": new,
                "current": state.stage,
                "allowed": [s for s in self.stages if s in allowed_next],
                "at": event.occurred_at,
            },
        )

    def counts_from(self, event: EventFact) -> datetime:
        return counts_from(event, self.tz)

    def in_order(self, events: Iterable[EventFact]) -> list[EventFact]:
        """Stage-changing events in the order they count."""
        staged = [e for e in events if e.stage is not None]
        return sorted(staged, key=lambda e: (self.counts_from(e), e.order))

    def fold(self, events: Iterable[EventFact], until: datetime) -> S:
        """The state at ``until`` from every stage-changing event that counts by then."""
        until = ensure_utc(until)
        state = self.initial_state()
        for event in self.in_order(events):
            if self.counts_from(event) > until:
                break
            at = ensure_utc(event.occurred_at)
            # The rules move on by themselves only up to the earliest the event can have
            # happened: a date-only vote on the window's last day is still in time.
            state = self.advance(state, at)
            try:
                state = self.apply(state, replace(event, occurred_at=at))
            except StageChangeError as exc:
                exc.order = event.order
                raise
        return self.advance(state, until)

    def first_event_after(self, events: Iterable[EventFact], now: datetime) -> datetime | None:
        """The first instant after ``now`` at which a recorded stage change starts to count."""
        later = [self.counts_from(e) for e in events if e.stage is not None]
        return min((at for at in later if at > now), default=None)

    def last_counted(self, events: Iterable[EventFact], now: datetime) -> datetime | None:
        """When the last stage change counting by ``now`` started to count."""
        counted = [self.counts_from(e) for e in events if e.stage is not None]
        return max((at for at in counted if at <= now), default=None)

    @staticmethod
    def earliest(*moments: datetime | None) -> datetime | None:
        present = [m for m in moments if m is not None]
        return min(present, default=None)

    def validate(self, events: Sequence[EventFact]) -> None:
        """Raise StageChangeError for the first stage change the rules refuse."""
        stamps = [self.counts_from(e) for e in events]
        if stamps:
            self.fold(events, max(stamps))

    @abstractmethod
    def assess(self, events: Iterable[EventFact], now: datetime) -> Assessment: ...
