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
from datetime import datetime
from typing import Any, ClassVar, Generic, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from tracker.model import Assessment, EventFact, Kind, StageChangeError
from tracker.timeutil import ensure_utc


class RuleParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class FoldState:
    stage: str | None = None
    since: datetime | None = None
    derived: bool = False


P = TypeVar("P", bound=RuleParams)
S = TypeVar("S", bound=FoldState)


def sort_events(events: Iterable[EventFact]) -> list[EventFact]:
    return sorted(events, key=lambda e: (ensure_utc(e.occurred_at), e.order))


class RuleSet(ABC, Generic[P, S]):
    """One rule set bound to one item's parameters and time zone."""

    name: ClassVar[str]
    kind: ClassVar[Kind]
    params_model: ClassVar[type[RuleParams]]
    stages: ClassVar[tuple[str, ...]]
    # Allowed next stages; the key None is the first stage an item may record.
    transitions: ClassVar[Mapping[str | None, frozenset[str]]]

    def __init__(self, params: P, tz: ZoneInfo) -> None:
        self.params = params
        self.tz = tz

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

    def fold(self, events: Iterable[EventFact], until: datetime) -> S:
        """The state at ``until`` from every stage-changing event at or before it."""
        until = ensure_utc(until)
        state = self.initial_state()
        for event in sort_events(events):
            at = ensure_utc(event.occurred_at)
            if at > until:
                break
            if event.stage is None:
                continue
            state = self.advance(state, at)
            try:
                state = self.apply(state, replace(event, occurred_at=at))
            except StageChangeError as exc:
                exc.order = event.order
                raise
        return self.advance(state, until)

    @staticmethod
    def first_event_after(events: Iterable[EventFact], now: datetime) -> datetime | None:
        later = [e.occurred_at for e in events if e.stage is not None and e.occurred_at > now]
        return min(later, default=None)

    @staticmethod
    def earliest(*moments: datetime | None) -> datetime | None:
        present = [m for m in moments if m is not None]
        return min(present, default=None)

    def validate(self, events: Sequence[EventFact]) -> None:
        """Raise StageChangeError for the first stage change the rules refuse."""
        stamps = [ensure_utc(e.occurred_at) for e in events]
        if stamps:
            self.fold(events, max(stamps))

    @abstractmethod
    def assess(self, events: Iterable[EventFact], now: datetime) -> Assessment: ...
