"""Rule set ``auto-renewing-agreement`` (SPEC §2): a treaty renewing itself unless notice is given.

Term ends fall on anniversaries of entry into force at 00:00 in the item's zone.
A notice given before a renewal's notice deadline (renewal minus the notice
period, in calendar days) ends the agreement at that renewal; a later one at
the following renewal. A suspended notice keeps the agreement in force, with
the termination revivable; a withdrawn one returns it to normal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import ClassVar

from pydantic import Field

from tracker.model import Assessment, Deadline, EventFact, FactValue, Kind, StageChangeError
from tracker.rules import register
from tracker.rules.base import FoldState, RuleParams, RuleSet
from tracker.timeutil import add_months, day_start, ensure_utc, local_date, months_between

NEGOTIATING = "negotiating"
INITIALLED = "initialled"
SIGNED = "signed"
IN_FORCE = "in_force"
TERMINATION_NOTIFIED = "termination_notified"
NOTICE_SUSPENDED = "notice_suspended"
NOTICE_WITHDRAWN = "notice_withdrawn"
TERMINATED = "terminated"

IN_FORCE_STAGES = frozenset({IN_FORCE, TERMINATION_NOTIFIED, NOTICE_SUSPENDED, NOTICE_WITHDRAWN})


class AgreementParams(RuleParams):
    entry_into_force: date | None = Field(
        default=None,
        description="date of entry into force; without it, the date of the 'in_force' event",
    )
    initial_term_months: int = Field(default=12, ge=1, le=1200)
    renewal_period_months: int = Field(default=12, ge=1, le=1200)
    notice_period_days: int = Field(default=90, ge=0, le=3650)


@dataclass(frozen=True, slots=True)
class AgreementState(FoldState):
    anchor: date | None = None  # local date of entry into force: term ends are counted from it
    in_force_from: datetime | None = None
    notice_at: datetime | None = None
    ends_at: datetime | None = None  # term end at which a pending notice takes effect
    ended_at: datetime | None = None


@register
class AutoRenewingAgreement(RuleSet[AgreementParams, AgreementState]):
    name: ClassVar[str] = "auto-renewing-agreement"
    kind: ClassVar[Kind] = Kind.AGREEMENT
    params_model: ClassVar[type[RuleParams]] = AgreementParams
    stages: ClassVar[tuple[str, ...]] = (
        NEGOTIATING,
        INITIALLED,
        SIGNED,
        IN_FORCE,
        TERMINATION_NOTIFIED,
        NOTICE_SUSPENDED,
        NOTICE_WITHDRAWN,
        TERMINATED,
    )
    transitions: ClassVar[Mapping[str | None, frozenset[str]]] = {
        None: frozenset({NEGOTIATING, INITIALLED, SIGNED, IN_FORCE}),
        NEGOTIATING: frozenset({INITIALLED, SIGNED}),
        INITIALLED: frozenset({NEGOTIATING, SIGNED}),
        SIGNED: frozenset({IN_FORCE}),
        IN_FORCE: frozenset({TERMINATION_NOTIFIED, TERMINATED}),
        TERMINATION_NOTIFIED: frozenset({NOTICE_SUSPENDED, NOTICE_WITHDRAWN, TERMINATED}),
        NOTICE_SUSPENDED: frozenset({NOTICE_WITHDRAWN, TERMINATION_NOTIFIED, TERMINATED}),
        NOTICE_WITHDRAWN: frozenset({TERMINATION_NOTIFIED, TERMINATED}),
        TERMINATED: frozenset(),
    }

    # -- the calendar -----------------------------------------------------------

    def term_end(self, anchor: date, k: int) -> datetime:
        """The k-th term end (k >= 1) of an agreement in force from ``anchor``."""
        p = self.params
        months = p.initial_term_months + (k - 1) * p.renewal_period_months
        return day_start(add_months(anchor, months), self.tz)

    def notice_deadline(self, renewal: datetime) -> datetime:
        """Last instant (exclusive) for a notice that ends the agreement at ``renewal``."""
        day = local_date(renewal, self.tz) - timedelta(days=self.params.notice_period_days)
        return day_start(day, self.tz)

    def _first_index_after(self, anchor: date, instant: datetime) -> int:
        """Smallest k >= 1 whose term end is strictly after ``instant``."""
        p = self.params
        months = months_between(anchor, local_date(instant, self.tz)) - p.initial_term_months
        k = max(1, months // p.renewal_period_months)  # at or before the answer
        while k > 1 and self.term_end(anchor, k - 1) > instant:
            k -= 1
        while self.term_end(anchor, k) <= instant:
            k += 1
        return k

    def next_term_end(self, anchor: date, instant: datetime) -> datetime:
        return self.term_end(anchor, self._first_index_after(anchor, instant))

    def term_ends_up_to(self, anchor: date, instant: datetime) -> int:
        """How many term ends fall at or before ``instant``."""
        return self._first_index_after(anchor, instant) - 1

    def end_for_notice(self, anchor: date, notice_at: datetime) -> datetime:
        """The term end at which a notice given at ``notice_at`` ends the agreement."""
        k = self._first_index_after(anchor, notice_at)
        while notice_at >= self.notice_deadline(self.term_end(anchor, k)):
            k += 1
        return self.term_end(anchor, k)

    # -- the fold ---------------------------------------------------------------

    def initial_state(self) -> AgreementState:
        return AgreementState(anchor=self.params.entry_into_force)

    def _entry_instant(self) -> datetime | None:
        entry = self.params.entry_into_force
        return day_start(entry, self.tz) if entry else None

    def advance(self, state: AgreementState, until: datetime) -> AgreementState:
        entry = self._entry_instant()
        if state.stage in (None, SIGNED) and entry is not None and entry < until:
            # The configured entry into force happened without anyone recording it.
            state = replace(state, stage=IN_FORCE, since=entry, derived=True, in_force_from=entry)
        if state.stage == TERMINATION_NOTIFIED and state.ends_at and state.ends_at <= until:
            state = replace(
                state, stage=TERMINATED, since=state.ends_at, derived=True, ended_at=state.ends_at
            )
        return state

    def apply(self, state: AgreementState, event: EventFact) -> AgreementState:
        self.check_transition(state, event)
        at = event.occurred_at
        new = replace(state, stage=event.stage, since=at, derived=False)
        if event.stage == IN_FORCE:
            anchor = state.anchor or local_date(at, self.tz)
            return replace(new, anchor=anchor, in_force_from=at)
        if event.stage == TERMINATION_NOTIFIED:
            if state.anchor is None:
                raise StageChangeError(
                    "stage: a termination notice needs the date of entry into force "
                    "(set params.entry_into_force or record 'in_force' first)",
                    code="needs_entry",
                )
            return replace(new, notice_at=at, ends_at=self.end_for_notice(state.anchor, at))
        if event.stage in (NOTICE_SUSPENDED, NOTICE_WITHDRAWN):
            return replace(new, ends_at=None)
        if event.stage == TERMINATED:
            return replace(new, ends_at=None, ended_at=at)
        return new

    # -- reading ----------------------------------------------------------------

    def assess(self, events: Iterable[EventFact], now: datetime) -> Assessment:
        now = ensure_utc(now)
        events = list(events)
        state = self.fold(events, now)
        facts: dict[str, FactValue] = {
            "notice_period_days": self.params.notice_period_days,
            "in_force_since": state.in_force_from,
            "extensions": 0,
            "next_renewal": None,
            "notice_deadline": None,
            "ends_at": None,
            "revivable": state.stage == NOTICE_SUSPENDED,
            "terminated_at": state.ended_at,
        }
        deadlines: list[Deadline] = []
        anchor = state.anchor
        if anchor is not None and state.in_force_from is not None:
            counted_until = now if state.ended_at is None else state.ended_at
            ends = self.term_ends_up_to(anchor, counted_until)
            if (
                state.ended_at is not None
                and ends
                and self.term_end(anchor, ends) == state.ended_at
            ):
                ends -= 1  # the term end that ended it is not an extension
            facts["extensions"] = ends
            if state.stage == TERMINATION_NOTIFIED and state.ends_at is not None:
                facts["ends_at"] = state.ends_at
                deadlines.append(Deadline("termination", "termination", state.ends_at))
            elif state.stage in IN_FORCE_STAGES:
                deadlines.extend(self._renewal_deadlines(anchor, now, facts))
        deadlines.sort(key=lambda d: d.at)
        entry = self._entry_instant()
        return Assessment(
            stage=state.stage,
            since=state.since,
            derived=state.derived,
            facts=facts,
            deadlines=tuple(deadlines),
            valid_until=self.earliest(
                self.first_event_after(events, now),
                deadlines[0].at if deadlines else None,
                self.next_term_end(anchor, now) if anchor is not None else None,
                entry if entry is not None and entry >= now else None,
                state.ends_at if state.ends_at is not None and state.ends_at > now else None,
            ),
        )

    def _renewal_deadlines(
        self, anchor: date, now: datetime, facts: dict[str, FactValue]
    ) -> list[Deadline]:
        renewal = self.next_term_end(anchor, now)
        notice = self.notice_deadline(renewal)
        facts["next_renewal"] = renewal
        facts["notice_deadline"] = notice
        tag = local_date(renewal, self.tz).isoformat()
        out = [Deadline(f"renewal:{tag}", "renewal", renewal)]
        if notice > now:
            out.append(Deadline(f"notice:{tag}", "notice_deadline", notice, effect_at=renewal))
        else:
            # This year's notice deadline has passed: the next one that still counts. With a
            # notice period longer than the renewal period that may be several terms on.
            following = self.next_term_end(anchor, renewal)
            while self.notice_deadline(following) <= now:
                following = self.next_term_end(anchor, following)
            next_tag = local_date(following, self.tz).isoformat()
            out.append(
                Deadline(
                    f"notice:{next_tag}",
                    "notice_deadline",
                    self.notice_deadline(following),
                    effect_at=following,
                )
            )
        return out
