"""The chart's plan (SPEC §3 /timeline view:chart): what the picture shows, pinned exactly.

GSOMIA from its real seed history; motions and agreements whose stages the rules
reach by themselves from small made-up histories.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from charts.plan import ChartPlan, chart_plan
from config.tracker import load_tracker
from tests.conftest import ROOT
from tracker.items import ItemSpec
from tracker.model import Deadline, EventFact, Precision
from tracker.rules.agreement import AgreementParams, AutoRenewingAgreement
from tracker.rules.motion import KrAssemblyDismissal, MotionParams
from views.deadlines import DeadlineRow
from views.events import EventView

KST = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 11, 23, 9, tzinfo=KST)


def kst(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KST)


def _views(spec: ItemSpec) -> list[EventView]:
    return [
        EventView(i, s.occurred_at, s.precision.value, s.summary_en, s.summary_ko, s.stage)
        for i, s in enumerate(spec.seed, start=1)
    ]


def _plan(
    spec: ItemSpec, events: Sequence[EventView], now: datetime, language: str = "en"
) -> ChartPlan:
    facts = [EventFact(e.occurred_at, e.stage, Precision(e.precision), e.id) for e in events]
    assessment = spec.assess(facts, now)
    rows = [DeadlineRow(spec, d) for d in assessment.deadlines if d.at > now]
    return chart_plan(
        spec, assessment=assessment, events=events, deadlines=rows, language=language, now=now
    )


def _gsomia() -> ItemSpec:
    spec = load_tracker(ROOT / "config" / "tracker.toml").item("gsomia")
    assert spec is not None
    return spec


def _spans(plan: ChartPlan) -> list[tuple[str, datetime, datetime, bool]]:
    return [(s.stage, s.start, s.end, s.derived) for s in plan.stages]


def test_gsomia_stages_from_negotiation_to_today() -> None:
    plan = _plan(_gsomia(), _views(_gsomia()), NOW)
    assert _spans(plan) == [
        ("negotiating", kst(2016, 10, 27), kst(2016, 11, 14), False),
        ("initialled", kst(2016, 11, 14), kst(2016, 11, 23), False),
        # Signed and in force the same day: "signed" lasted no time and has no span.
        ("in_force", kst(2016, 11, 23), kst(2019, 8, 23, 15, 25), False),
        ("termination_notified", kst(2019, 8, 23, 15, 25), kst(2019, 11, 22, 18), False),
        ("notice_suspended", kst(2019, 11, 22, 18), kst(2023, 3, 21), False),
        ("notice_withdrawn", kst(2023, 3, 21), plan.end, False),
    ]
    assert plan.stages[-1].current and not any(s.current for s in plan.stages[:-1])
    assert plan.stages[2].label == "In force"
    assert plan.title == "South Korea–Japan GSOMIA: its whole life"
    assert plan.subtitle == "as of 23 Nov 2026"


def test_gsomia_renews_every_23_november_with_a_notice_deadline_90_days_before() -> None:
    plan = _plan(_gsomia(), _views(_gsomia()), NOW)
    renewals = [kst(year, 11, 23) for year in range(2017, 2028)]
    assert [m.at for m in plan.renewals] == renewals
    # Ten renewals have happened by today (the tenth at 00:00 this morning); the next is ahead.
    assert [m.past for m in plan.renewals] == [True] * 10 + [False]
    # tracker.rules.agreement.notice_deadline: the local day 90 calendar days before, at 00:00.
    assert [m.at for m in plan.notices] == [
        datetime.combine(r.date() - timedelta(days=90), datetime.min.time(), KST) for r in renewals
    ]
    assert plan.notices[0].at == kst(2017, 8, 25)
    assert plan.notices[-1].at == kst(2027, 8, 25) and not plan.notices[-1].past
    assert plan.vote_window is None
    assert plan.others == ()
    assert {k for k, _ in plan.legend_labels} == {"renewal", "notice_deadline", "today"}


def test_gsomia_events_today_and_range() -> None:
    events = _views(_gsomia())
    plan = _plan(_gsomia(), events, NOW)
    assert [m.at for m in plan.events] == sorted(e.occurred_at for e in events)
    assert len(plan.events) == len(events)
    staged = [m.label for m in plan.events if m.label is not None]
    assert staged[:3] == ["In negotiation", "Initialled", "Signed"]
    assert plan.today == NOW and plan.today_label == "Today, 23 Nov 2026"
    # Everything fits, with a margin: the first event (2012) to the next renewal (2027).
    assert plan.start < kst(2012, 6, 29, 16) and plan.end > kst(2027, 11, 23)
    assert plan.end - kst(2027, 11, 23) < timedelta(days=365)


def test_gsomia_in_korean() -> None:
    plan = _plan(_gsomia(), _views(_gsomia()), NOW, language="ko")
    assert plan.title == "한일 군사정보보호협정(GSOMIA): 전체 경과"
    assert plan.stages[2].label == "발효 중"
    assert plan.renewals[0].label == "자동 연장"
    assert plan.notices[0].label == "종료 통보 시한"
    assert plan.today_label == "오늘, 2026년 11월 23일"
    assert plan.lane_labels == ("단계", "사건", "시한")


def test_the_same_history_and_minute_give_the_same_plan() -> None:
    spec = _gsomia()
    assert _plan(spec, _views(spec), NOW) == _plan(spec, list(reversed(_views(spec))), NOW)
    assert hash(_plan(spec, _views(spec), NOW)) == hash(_plan(spec, _views(spec), NOW))


def _agreement(**params: Any) -> ItemSpec:
    rules = AutoRenewingAgreement(AgreementParams(**params), KST)
    return ItemSpec("pact", "Pact", "협정", "agreement", rules, KST)


def _event(i: int, at: datetime, stage: str | None, precision: str = "datetime") -> EventView:
    return EventView(i, at, precision, f"event {i}", None, stage)


def test_an_agreement_ends_at_the_term_end_after_a_timely_notice() -> None:
    """Entry into force from the configuration, termination from the notice: both derived."""
    spec = _agreement(entry_into_force=date(2020, 1, 1))
    events = [
        _event(1, kst(2019, 12, 1), "signed"),
        _event(2, kst(2022, 9, 1, 10), "termination_notified"),
    ]
    plan = _plan(spec, events, kst(2024, 6, 1))
    assert _spans(plan) == [
        ("signed", kst(2019, 12, 1), kst(2020, 1, 1), False),
        ("in_force", kst(2020, 1, 1), kst(2022, 9, 1, 10), True),
        ("termination_notified", kst(2022, 9, 1, 10), kst(2023, 1, 1), False),
        ("terminated", kst(2023, 1, 1), plan.end, True),
    ]
    # Renewed on 1 Jan 2021 and 2022; the term end of 2023 ended it and renewed nothing.
    assert [m.at for m in plan.renewals] == [kst(2021, 1, 1), kst(2022, 1, 1)]
    assert [m.at for m in plan.notices] == [kst(2020, 10, 3), kst(2021, 10, 3)]


def test_a_pending_termination_is_shown_as_a_deadline() -> None:
    spec = _agreement(entry_into_force=date(2020, 1, 1))
    events = [_event(1, kst(2022, 9, 1, 10), "termination_notified")]
    plan = _plan(spec, events, kst(2022, 12, 1))
    assert [(m.kind, m.at, m.past) for m in plan.others] == [
        ("termination", kst(2023, 1, 1), False)
    ]
    assert plan.others[0].label == "Termination"
    assert _spans(plan)[-1] == ("termination_notified", kst(2022, 9, 1, 10), plan.end, False)


def _motion() -> ItemSpec:
    rules = KrAssemblyDismissal(MotionParams(), KST)
    return ItemSpec("motion", "Motion", "해임건의안", "motion", rules, KST)


def test_a_motion_vote_window_opens_24_h_and_closes_72_h_after_the_report() -> None:
    reported = kst(2016, 9, 21, 14, 30)
    events = [_event(1, kst(2016, 9, 20, 11), "submitted"), _event(2, reported, "reported")]
    plan = _plan(_motion(), events, kst(2016, 9, 22, 9))
    assert plan.vote_window is not None
    assert (plan.vote_window.start, plan.vote_window.end) == (
        kst(2016, 9, 22, 14, 30),
        kst(2016, 9, 24, 14, 30),
    )
    assert plan.vote_window.label == "Vote window"
    assert _spans(plan) == [
        ("submitted", kst(2016, 9, 20, 11), reported, False),
        ("reported", reported, plan.end, False),
    ]
    # The window is drawn whole, though it closes after today.
    assert plan.end > kst(2016, 9, 24, 14, 30)
    assert plan.renewals == () and plan.notices == ()
    assert ("vote_window", "Vote window") in plan.legend_labels


def test_a_motion_not_voted_in_its_window_is_deemed_discarded_when_it_closes() -> None:
    reported = kst(2016, 9, 21, 14, 30)
    events = [_event(1, kst(2016, 9, 20, 11), "submitted"), _event(2, reported, "reported")]
    plan = _plan(_motion(), events, kst(2016, 10, 1), language="ko")
    assert _spans(plan)[-1] == ("discarded", kst(2016, 9, 24, 14, 30), plan.end, True)
    assert plan.stages[-1].label == "폐기 간주"
    assert plan.vote_window is not None and plan.vote_window.label == "표결 기간"


def test_a_motion_passed_in_its_window() -> None:
    reported = kst(2016, 9, 21, 14, 30)
    voted = kst(2016, 9, 24, 1, 50)
    events = [
        _event(1, kst(2016, 9, 20, 11), "submitted"),
        _event(2, reported, "reported"),
        _event(3, voted, "passed"),
        _event(4, kst(2016, 9, 25), None, "date"),
    ]
    plan = _plan(_motion(), events, kst(2016, 10, 1))
    assert _spans(plan)[-2:] == [
        ("reported", reported, voted, False),
        ("passed", voted, plan.end, False),
    ]
    labels = [m.label for m in plan.events]
    assert labels == ["Submitted", "Reported to the plenary", "Passed", None]


def test_an_item_with_no_events_has_no_stages_and_still_a_range() -> None:
    plan = _plan(_motion(), [], NOW)
    assert plan.stages == () and plan.events == ()
    assert plan.start < NOW < plan.end


def test_a_guilds_custom_deadline_is_marked_with_its_title() -> None:
    spec = _gsomia()
    facts = [EventFact(e.occurred_at, e.stage, Precision(e.precision), e.id) for e in _views(spec)]
    assessment = spec.assess(facts, NOW)
    custom = DeadlineRow(spec, Deadline("custom:7", "custom", kst(2027, 3, 1)), "Hearing", 7)
    other_item = DeadlineRow(_motion(), Deadline("custom:8", "custom", kst(2027, 4, 1)), "No", 8)
    plan = chart_plan(
        spec,
        assessment=assessment,
        events=_views(spec),
        deadlines=[custom, other_item],
        language="en",
        now=NOW,
    )
    assert [(m.kind, m.at, m.label, m.past) for m in plan.others] == [
        ("custom", kst(2027, 3, 1), "Hearing", False)
    ]
    assert ("other", "Other deadline") in plan.legend_labels
