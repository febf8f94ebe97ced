"""Rule set ``kr-assembly-dismissal`` (SPEC §2): a motion to recommend a minister's dismissal.

Constitution Art. 63: proposed by one third of all members, passed by a
majority of all members. National Assembly Act Art. 112(7): voted by secret
ballot more than 24 h and at most 72 h after it is reported to the plenary;
not voted by then, it is deemed discarded.

A report known only by its date (the official record gives no time) happened
at some unknown instant of that local day, so the window is only known to
within a day. The rule set then counts safely, in both directions:

- the vote is said to be *surely* allowed only after the end of the report day
  + 24 h (``window_opens``), and *surely* still in time only up to the start of
  the report day + 72 h (``window_closes``): a reminder or deadline never claims
  a vote may happen when, for some report time that day, it may not;
- a vote is refused as too early only when it falls at or before the start of
  the day + 24 h (too early whatever the time), and the motion is deemed
  discarded only after the end of the day + 72 h (discarded whatever the time).

Until a moderator gives the time (an edit of the event, or a second ``reported``
event with a time on the same day) the status shows the window as approximate.
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
    LineValue,
    Moment,
    Precision,
    StageChangeError,
    StatusLine,
)
from tracker.rules import register
from tracker.rules.base import FoldState, RuleParams, RuleSet
from tracker.timeutil import day_start, ensure_utc, local_date

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
    # The earliest the report can have happened (local 00:00 for a date-only one) ...
    reported_at: datetime | None = None
    # ... and the first instant after it can have happened (the same, when its time is known).
    reported_by: datetime | None = None

    @property
    def report_time_unknown(self) -> bool:
        return self.reported_by is not None and self.reported_by != self.reported_at


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

    def safe_window(self, state: MotionState) -> tuple[datetime, datetime, datetime]:
        """(surely open after, surely in time until, surely discarded after).

        For a report with a time the first two are the window itself and the
        third its close; for a date-only one see the module's docstring.
        """
        assert state.reported_at is not None and state.reported_by is not None
        opens = self.window(state.reported_by)[0]
        closes = self.window(state.reported_at)[1]
        return opens, closes, self.window(state.reported_by)[1]

    def initial_state(self) -> MotionState:
        return MotionState()

    def advance(self, state: MotionState, until: datetime) -> MotionState:
        if state.stage == REPORTED and state.reported_at is not None:
            discarded = self.safe_window(state)[2]
            if until > discarded:
                return replace(state, stage=DISCARDED, since=discarded, derived=True)
        return state

    def _same_report(self, state: MotionState, event: EventFact) -> bool:
        """A date-only ``reported`` on the day of the timed one already counted: one report.

        The timed record counts first (a date-only one counts once its day is
        over), so a moderator's time refines the official record's date.
        """
        return (
            event.stage == REPORTED
            and state.stage == REPORTED
            and not state.derived
            and event.precision == Precision.DATE
            and state.reported_at is not None
            and not state.report_time_unknown
            and local_date(state.reported_at, self.tz)
            == local_date(ensure_utc(event.occurred_at), self.tz)
        )

    def apply(self, state: MotionState, event: EventFact) -> MotionState:
        if self._same_report(state, event):
            return state
        self.check_transition(state, event)
        at = event.occurred_at
        if event.stage in VOTES and state.reported_at is not None:
            self._check_vote_time(state.reported_at, event)
        new = replace(state, stage=event.stage, since=at, derived=False)
        if event.stage == REPORTED:
            by = at
            if event.precision == Precision.DATE:
                by = day_start(local_date(ensure_utc(at), self.tz) + timedelta(days=1), self.tz)
            return replace(new, reported_at=at, reported_by=by)
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
            "window_approximate": False,
        }
        deadlines: list[Deadline] = []
        discarded: datetime | None = None
        if state.reported_at is not None:
            # Exact report: the window itself. Date-only: the part of it that holds
            # whatever the time of the report (see the module's docstring).
            opens, closes, discarded = self.safe_window(state)
            approximate = state.report_time_unknown
            facts["window_opens"] = opens
            facts["window_closes"] = closes
            facts["window_approximate"] = approximate
            if approximate:
                facts["window_earliest"] = self.window(state.reported_at)[0]
                facts["window_latest"] = discarded
            # The deadline keys stay when the time becomes known, so reminders are re-planned.
            suffix = "_approx" if approximate else ""
            if state.stage == REPORTED:
                if opens > now:
                    deadlines.append(Deadline("window-opens", "window_opens" + suffix, opens))
                if closes >= now:
                    deadlines.append(Deadline("window-closes", "window_closes" + suffix, closes))
        return Assessment(
            stage=state.stage,
            since=state.since,
            derived=state.derived,
            facts=facts,
            deadlines=tuple(deadlines),
            valid_until=self.earliest(
                self.first_event_after(events, now),
                deadlines[0].at if deadlines else None,
                discarded if state.stage == REPORTED else None,
            ),
        )

    # -- the status in words ------------------------------------------------------

    def next_stages(self, assessment: Assessment) -> frozenset[str]:
        allowed = super().next_stages(assessment)
        # A second report with its time on the day refines one known only by its date.
        if assessment.stage == REPORTED and assessment.facts.get("window_approximate"):
            return allowed | {REPORTED}
        return allowed

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
        earliest, latest = facts.get("window_earliest"), facts.get("window_latest")
        reported = facts.get("reported_at")
        if (
            facts.get("window_approximate")
            and isinstance(opens, datetime)
            and isinstance(closes, datetime)
            and isinstance(earliest, datetime)
            and isinstance(latest, datetime)
            and isinstance(reported, datetime)
        ):
            p = self.params
            approx: dict[str, LineValue] = {
                "after": f"{p.window_opens_hours:g}",
                "until": f"{p.window_closes_hours:g}",
                "reported": Moment(reported, "day"),
                # The days the window can open and close on, whatever the report's time.
                "first_day": Moment(earliest, "day"),
                "last_day": Moment(closes, "day"),
                "sure_opens": Moment(opens, "time"),
                "sure_closes": Moment(closes, "time"),
                "discarded": Moment(latest, "time"),
            }
            out.append(StatusLine("vote_window_approx", approx))
        elif isinstance(opens, datetime) and isinstance(closes, datetime):
            window = {"opens": Moment(opens, "time"), "closes": Moment(closes)}
            out.append(StatusLine("vote_window", window))
        if facts.get("deemed_discarded"):
            out.append(StatusLine("deemed"))
        return out
