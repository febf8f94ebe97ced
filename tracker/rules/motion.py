"""Rule set ``kr-assembly-dismissal`` (SPEC §2): a motion to recommend a minister's dismissal.

Constitution Art. 63: proposed by one third of all members, passed by a
majority of all members. National Assembly Act Art. 112(7): voted by secret
ballot more than 24 h and at most 72 h after it is reported to the plenary;
not voted by then, it is deemed discarded.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from fractions import Fraction
from typing import ClassVar

from pydantic import Field, field_validator

from tracker.model import (
    Assessment,
    Deadline,
    EventFact,
    FactValue,
    Moment,
    StageChangeError,
    StatusLine,
)
from tracker.rules import register
from tracker.rules.base import FoldState, RuleParams, RuleSet
from tracker.timeutil import ensure_utc

ANNOUNCED = "announced"
SUBMITTED = "submitted"
REPORTED = "reported"
PASSED = "passed"
REJECTED = "rejected"
DISCARDED = "discarded"
WITHDRAWN = "withdrawn"
SHELVED = "shelved"

VOTES = frozenset({PASSED, REJECTED})
# Not a stage one records: how the status names "discarded" when the rules reached it.
DEEMED_DISCARDED = "deemed_discarded"


def _fraction(value: object) -> Fraction:
    if isinstance(value, int | float):
        return Fraction(value).limit_denominator(1000)
    if isinstance(value, str):
        return Fraction(value.strip())
    raise ValueError("expected a fraction such as '1/3'")


class MotionParams(RuleParams):
    seats: int = Field(default=300, ge=1, le=100_000)
    # At least this share of all members must propose it.
    proposal_fraction: str = "1/3"
    # More than this share of all members must vote for it.
    passage_fraction: str = "1/2"
    window_opens_hours: float = Field(default=24, ge=0)
    window_closes_hours: float = Field(default=72, gt=0)

    @field_validator("proposal_fraction", "passage_fraction")
    @classmethod
    def _is_fraction(cls, value: str) -> str:
        try:
            share = _fraction(value)
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"'{value}' is not a fraction such as '1/3'") from None
        if not 0 < share < 1:
            raise ValueError(f"'{value}' must lie between 0 and 1")
        return value

    @property
    def proposal_threshold(self) -> int:
        return math.ceil(self.seats * _fraction(self.proposal_fraction))

    @property
    def passage_threshold(self) -> int:
        return math.floor(self.seats * _fraction(self.passage_fraction)) + 1


@dataclass(frozen=True, slots=True)
class MotionState(FoldState):
    reported_at: datetime | None = None


@register
class KrAssemblyDismissal(RuleSet[MotionParams, MotionState]):
    name: ClassVar[str] = "kr-assembly-dismissal"
    kind: ClassVar[str] = "motion"
    tones: ClassVar[Mapping[str, str]] = {
        SUBMITTED: "warn",
        REPORTED: "warn",
        PASSED: "alert",
        DEEMED_DISCARDED: "alert",
        SHELVED: "muted",
        WITHDRAWN: "muted",
        REJECTED: "muted",
        DISCARDED: "muted",
    }
    params_model: ClassVar[type[RuleParams]] = MotionParams
    stages: ClassVar[tuple[str, ...]] = (
        ANNOUNCED,
        SUBMITTED,
        REPORTED,
        PASSED,
        REJECTED,
        DISCARDED,
        WITHDRAWN,
        SHELVED,
    )
    transitions: ClassVar[Mapping[str | None, frozenset[str]]] = {
        None: frozenset({ANNOUNCED, SUBMITTED}),
        ANNOUNCED: frozenset({SUBMITTED, SHELVED}),
        SHELVED: frozenset({ANNOUNCED, SUBMITTED}),
        SUBMITTED: frozenset({REPORTED, WITHDRAWN}),
        REPORTED: frozenset({PASSED, REJECTED, DISCARDED, WITHDRAWN}),
        PASSED: frozenset(),
        REJECTED: frozenset(),
        DISCARDED: frozenset(),
        WITHDRAWN: frozenset(),
    }

    def window(self, reported_at: datetime) -> tuple[datetime, datetime]:
        """The vote window (opens, closes]: a vote must fall after opens and at or before closes."""
        p = self.params
        return (
            reported_at + timedelta(hours=p.window_opens_hours),
            reported_at + timedelta(hours=p.window_closes_hours),
        )

    def initial_state(self) -> MotionState:
        return MotionState()

    def advance(self, state: MotionState, until: datetime) -> MotionState:
        if state.stage == REPORTED and state.reported_at is not None:
            closes = self.window(state.reported_at)[1]
            if until > closes:
                return replace(state, stage=DISCARDED, since=closes, derived=True)
        return state

    def apply(self, state: MotionState, event: EventFact) -> MotionState:
        self.check_transition(state, event)
        at = event.occurred_at
        if event.stage in VOTES and state.reported_at is not None:
            self._check_vote_time(state.reported_at, event)
        new = replace(state, stage=event.stage, since=at, derived=False)
        if event.stage == REPORTED:
            return replace(new, reported_at=at)
        return new

    def _check_vote_time(self, reported_at: datetime, event: EventFact) -> None:
        opens = self.window(reported_at)[0]
        at = event.occurred_at
        # A date-only vote is somewhere in that local day: accept it if the day meets the window.
        latest = at + timedelta(days=1) if event.precision == "date" else at
        if latest <= opens:
            raise StageChangeError(
                f"when: a vote on {at.astimezone(self.tz):%Y-%m-%d %H:%M %Z} is too early; "
                f"the vote window opens after {opens.astimezone(self.tz):%Y-%m-%d %H:%M %Z} "
                f"({self.params.window_opens_hours:g} h after the report)",
                code="vote_too_early",
                details={"at": at, "opens": opens},
            )

    def assess(self, events: Iterable[EventFact], now: datetime) -> Assessment:
        now = ensure_utc(now)
        events = list(events)
        state = self.fold(events, now)
        p = self.params
        facts: dict[str, FactValue] = {
            "seats": p.seats,
            "proposal_threshold": p.proposal_threshold,
            "passage_threshold": p.passage_threshold,
            "reported_at": state.reported_at,
            "window_opens": None,
            "window_closes": None,
            "deemed_discarded": state.stage == DISCARDED and state.derived,
        }
        deadlines: list[Deadline] = []
        if state.reported_at is not None:
            opens, closes = self.window(state.reported_at)
            facts["window_opens"] = opens
            facts["window_closes"] = closes
            if state.stage == REPORTED:
                if opens > now:
                    deadlines.append(Deadline("window-opens", "window_opens", opens))
                deadlines.append(Deadline("window-closes", "window_closes", closes))
        return Assessment(
            stage=state.stage,
            since=state.since,
            derived=state.derived,
            facts=facts,
            deadlines=tuple(deadlines),
            valid_until=self.earliest(
                self.first_event_after(events, now), deadlines[0].at if deadlines else None
            ),
        )

    # -- the status in words ------------------------------------------------------

    def stage_word(self, assessment: Assessment) -> str | None:
        if assessment.facts.get("deemed_discarded"):
            return DEEMED_DISCARDED
        return assessment.stage

    def status_lines(self, assessment: Assessment) -> list[StatusLine]:
        facts = assessment.facts
        seats, propose, passing = (
            facts.get("seats"),
            facts.get("proposal_threshold"),
            facts.get("passage_threshold"),
        )
        out: list[StatusLine] = []
        if isinstance(seats, int) and isinstance(propose, int) and isinstance(passing, int):
            values = {"seats": seats, "propose": propose, "passing": passing}
            out.append(StatusLine("thresholds", values))
        opens, closes = facts.get("window_opens"), facts.get("window_closes")
        if isinstance(opens, datetime) and isinstance(closes, datetime):
            window = {"opens": Moment(opens, "time"), "closes": Moment(closes)}
            out.append(StatusLine("vote_window", window))
        if facts.get("deemed_discarded"):
            out.append(StatusLine("deemed"))
        return out
