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

from tracker.model import (
    Assessment,
    Deadline,
    EventFact,
    FactValue,
    LineValue,
    Moment,
    StageChangeError,
    StatusLine,
)
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
    # Who gave the notice, by language ({en = "Seoul", ko = "한국 정부"}): a suspended
    # notice's effect is that party's stated position, and the status says whose it is.
    notice_party: dict[str, str] = Field(default_factory=dict)


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
    kind: ClassVar[str] = "agreement"
    tones: ClassVar[Mapping[str, str]] = {
        IN_FORCE: "ok",
        NOTICE_SUSPENDED: "ok",
        NOTICE_WITHDRAWN: "ok",
        TERMINATION_NOTIFIED: "warn",
        TERMINATED: "alert",
    }
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

    def _entry_counts_from(self) -> datetime | None:
        """A configured entry into force is a date: it counts once that day is over."""
        entry = self.params.entry_into_force
        return day_start(entry + timedelta(days=1), self.tz) if entry else None

    def advance(self, state: AgreementState, until: datetime) -> AgreementState:
        entry = self._entry_instant()
        counts = self._entry_counts_from()
        if state.stage in (None, SIGNED) and entry and counts is not None and counts <= until:
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
        suspended = state.stage == NOTICE_SUSPENDED
        facts: dict[str, FactValue] = {
            "notice_period_days": self.params.notice_period_days,
            "in_force_since": state.in_force_from,
            # Term ends passed in force, and of them those that are not plain renewals on
            # the record: passed while a notice was suspended (the party that gave it held
            # that the notice stood), or after the last recorded change (assuming no notice).
            "extensions": 0,
            "extensions_suspended": 0,
            "extensions_assumed": 0,
            "next_renewal": None,
            "notice_deadline": None,
            "ends_at": None,
            "revivable": suspended,
            # While a notice is suspended its party's position is that lifting the
            # suspension ends the agreement at once: no notice period is computed.
            "suspended_since": state.since if suspended else None,
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
                counted_until -= timedelta(microseconds=1)
            facts["extensions"] = ends
            self._uncertain_extensions(events, anchor, counted_until, ends, facts)
            if state.stage == TERMINATION_NOTIFIED and state.ends_at is not None:
                facts["ends_at"] = state.ends_at
                deadlines.append(Deadline("termination", "termination", state.ends_at))
            elif state.stage in IN_FORCE_STAGES and not suspended:
                deadlines.extend(self._renewal_deadlines(anchor, now, facts))
        deadlines.sort(key=lambda d: d.at)
        entry = self._entry_counts_from()
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

    def _uncertain_extensions(
        self,
        events: list[EventFact],
        anchor: date,
        until: datetime,
        total: int,
        facts: dict[str, FactValue],
    ) -> None:
        """Count the term ends up to ``until`` passed during a suspended notice or unrecorded."""

        def between(start: datetime, end: datetime) -> int:
            if end <= start:
                return 0
            return self.term_ends_up_to(anchor, end) - self.term_ends_up_to(anchor, start)

        staged = [(self.counts_from(e), e.stage) for e in self.in_order(events)]
        staged = [(at, stage) for at, stage in staged if at <= until]
        suspended = 0
        for i, (at, stage) in enumerate(staged):
            if stage == NOTICE_SUSPENDED:
                end = staged[i + 1][0] if i + 1 < len(staged) else until
                suspended += between(at, end)
        last = staged[-1] if staged else None
        assumed = 0
        if last is None:
            assumed = total
        elif last[1] != NOTICE_SUSPENDED:
            assumed = between(last[0], until)
        facts["extensions_suspended"] = min(suspended, total)
        facts["extensions_assumed"] = min(assumed, total - min(suspended, total))

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

    # -- the status in words ------------------------------------------------------

    def status_lines(self, assessment: Assessment) -> list[StatusLine]:
        facts = assessment.facts
        out: list[StatusLine] = []
        total = facts.get("extensions")
        if isinstance(facts.get("in_force_since"), datetime) and isinstance(total, int):
            out.extend(self._extension_lines(facts, total))
        renewal, notice = facts.get("next_renewal"), facts.get("notice_deadline")
        if isinstance(renewal, datetime):
            out.append(StatusLine("next_renewal", {"at": Moment(renewal)}, inline=True))
        if isinstance(notice, datetime):
            deadline = {"by_end": Moment(notice, "by_end_of"), "at": Moment(notice)}
            out.append(StatusLine("notice_deadline", deadline))
        ends = facts.get("ends_at")
        if isinstance(ends, datetime):
            out.append(StatusLine("ends", {"at": Moment(ends)}))
        suspended = facts.get("suspended_since")
        if isinstance(suspended, datetime):
            values: dict[str, LineValue] = {
                "date": Moment(suspended, "day"),
                "days": self.params.notice_period_days,
            }
            party = self.params.notice_party
            key = "suspended" if party else "suspended_unattributed"
            if party:
                values["party"] = party
            out.append(StatusLine(key, values))
        ended = facts.get("terminated_at")
        if isinstance(ended, datetime):
            out.append(StatusLine("terminated", {"at": Moment(ended)}))
        return out

    def _extension_lines(self, facts: Mapping[str, FactValue], total: int) -> list[StatusLine]:
        suspended = facts.get("extensions_suspended")
        assumed = facts.get("extensions_assumed")
        suspended = suspended if isinstance(suspended, int) else 0
        assumed = assumed if isinstance(assumed, int) else 0
        if not suspended and not assumed:
            return [StatusLine("extensions", {"count": total}, inline=True)]
        # Only the anniversaries passed in plain force before a later recorded change are
        # renewals on the record; the rest rest on an assumption, said beside the count.
        out = [
            StatusLine(
                "extensions_at_least", {"count": total - suspended - assumed, "total": total}
            )
        ]
        party = self.params.notice_party
        if suspended:
            if party:
                out.append(StatusLine("extensions_suspended", {"count": suspended, "party": party}))
            else:
                out.append(StatusLine("extensions_suspended_unattributed", {"count": suspended}))
        if assumed:
            out.append(StatusLine("extensions_assumed", {"count": assumed}))
        return out
