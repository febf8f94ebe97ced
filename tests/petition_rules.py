"""A third rule set that lives in the test suite alone: a petition answered within a term.

Importing this module registers the rule set and adds its words to the catalogs;
nothing outside tests/ knows of it, which is what tests/test_rule_plugins.py shows.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar

from pydantic import Field

from i18n import add_entries
from tracker.model import Assessment, Deadline, EventFact, FactValue, Moment, StatusLine
from tracker.rules import register
from tracker.rules.base import FoldState, RuleParams, RuleSet
from tracker.timeutil import ensure_utc

FILED = "filed"
REFERRED = "referred"
ANSWERED = "answered"


class PetitionParams(RuleParams):
    signatures_needed: int = Field(default=50_000, ge=1)
    answer_days: int = Field(default=30, ge=1, le=365)


@dataclass(frozen=True, slots=True)
class PetitionState(FoldState):
    referred_at: datetime | None = None


@register
class Petition(RuleSet[PetitionParams, PetitionState]):
    name: ClassVar[str] = "test-petition"
    kind: ClassVar[str] = "petition"
    params_model: ClassVar[type[RuleParams]] = PetitionParams
    stages: ClassVar[tuple[str, ...]] = (FILED, REFERRED, ANSWERED)
    transitions: ClassVar[Mapping[str | None, frozenset[str]]] = {
        None: frozenset({FILED}),
        FILED: frozenset({REFERRED}),
        REFERRED: frozenset({ANSWERED}),
        ANSWERED: frozenset(),
    }
    tones: ClassVar[Mapping[str, str]] = {REFERRED: "warn", ANSWERED: "ok"}

    def initial_state(self) -> PetitionState:
        return PetitionState()

    def advance(self, state: PetitionState, until: datetime) -> PetitionState:
        return state

    def apply(self, state: PetitionState, event: EventFact) -> PetitionState:
        state = super().apply(state, event)
        if event.stage == REFERRED:
            return replace(state, referred_at=event.occurred_at)
        return state

    def assess(self, events: Iterable[EventFact], now: datetime) -> Assessment:
        now = ensure_utc(now)
        events = list(events)
        state = self.fold(events, now)
        due = (
            state.referred_at + timedelta(days=self.params.answer_days)
            if state.referred_at is not None
            else None
        )
        facts: dict[str, FactValue] = {
            "signatures_needed": self.params.signatures_needed,
            "answer_due": due,
        }
        deadlines: tuple[Deadline, ...] = ()
        if state.stage == REFERRED and due is not None and due > now:
            deadlines = (Deadline("answer", "answer_due", due),)
        return Assessment(
            stage=state.stage,
            since=state.since,
            derived=state.derived,
            facts=facts,
            deadlines=deadlines,
            valid_until=self.earliest(
                self.first_event_after(events, now), deadlines[0].at if deadlines else None
            ),
        )

    def status_lines(self, assessment: Assessment) -> list[StatusLine]:
        facts = assessment.facts
        needed = facts.get("signatures_needed")
        out = []
        if isinstance(needed, int):
            out.append(StatusLine("signatures", {"count": needed}))
        due = facts.get("answer_due")
        if isinstance(due, datetime) and assessment.stage == REFERRED:
            out.append(StatusLine("answer_due", {"at": Moment(due)}))
        return out


WORDS: dict[str, dict[str, Any]] = {
    "en": {
        "stage": {
            "filed": "Filed",
            "referred": "Referred to committee",
            "answered": "Answered",
        },
        "deadline": {"answer_due": "Answer due"},
        "meaning": {"answer_due": "The committee must answer {item} by then."},
        "status": {
            "signatures": "Signatures needed",
            "signatures_value": "{count} to be referred",
            "answer_due": "Answer due",
            "answer_due_value": "{at}",
            "answer_due_note": "within the term the rules give the committee",
        },
    },
    "ko": {
        "stage": {"filed": "청원 접수", "referred": "위원회 회부", "answered": "답변 완료"},
        "deadline": {"answer_due": "답변 기한"},
        "meaning": {"answer_due": "위원회는 그때까지 {item}에 답해야 합니다."},
        "status": {
            "signatures": "필요 서명 수",
            "signatures_value": "회부에 {count}명",
            "answer_due": "답변 기한",
            "answer_due_value": "{at}",
            "answer_due_note": "규칙이 위원회에 주는 기간 안에",
        },
    },
}

for _language, _table in WORDS.items():
    add_entries(_language, {"rules": {Petition.name: _table}})
