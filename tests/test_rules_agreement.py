"""The auto-renewing-agreement rule set on the real GSOMIA configuration (SPEC §2)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.tracker import load_tracker
from tracker.items import ItemSpec
from tracker.model import EventFact, Precision, StageChangeError
from tracker.rules.agreement import AutoRenewingAgreement

KST = ZoneInfo("Asia/Seoul")
CONFIG = Path(__file__).parents[1] / "config" / "tracker.toml"


def kst(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=KST)


@pytest.fixture(scope="module")
def item() -> ItemSpec:
    spec = load_tracker(CONFIG).item("gsomia")
    assert spec is not None
    return spec


@pytest.fixture(scope="module")
def rules(item: ItemSpec) -> AutoRenewingAgreement:
    assert isinstance(item.rules, AutoRenewingAgreement)
    return item.rules


@pytest.fixture(scope="module")
def facts(item: ItemSpec) -> list[EventFact]:
    return [EventFact(e.occurred_at, e.stage, e.precision, n) for n, e in enumerate(item.seed)]


def seed_without(item: ItemSpec, *stages: str) -> list[EventFact]:
    return [
        EventFact(e.occurred_at, e.stage, e.precision, n)
        for n, e in enumerate(item.seed)
        if e.stage not in stages
    ]


def in_force_history() -> list[EventFact]:
    return [EventFact(kst(2016, 11, 23), "in_force", Precision.DATE, 0)]


# -- the calendar -----------------------------------------------------------------


def test_config_parameters(rules: AutoRenewingAgreement) -> None:
    assert rules.params.entry_into_force == date(2016, 11, 23)
    assert rules.params.notice_period_days == 90
    assert rules.tz == KST


@pytest.mark.parametrize("year", [2017, 2018, 2019])
def test_notice_deadline_of_early_renewals(rules: AutoRenewingAgreement, year: int) -> None:
    anchor = date(2016, 11, 23)
    renewal = rules.term_end(anchor, year - 2016)
    assert renewal == kst(year, 11, 23)
    assert rules.notice_deadline(renewal) == kst(year, 8, 25)


@pytest.mark.parametrize("year", [2017, 2018, 2019])
def test_assessed_notice_deadline_of_early_renewals(
    item: ItemSpec, facts: list[EventFact], year: int
) -> None:
    a = item.assess(facts, kst(year, 6, 1))
    assert a.stage == "in_force"
    assert a.facts["next_renewal"] == kst(year, 11, 23)
    assert a.facts["notice_deadline"] == kst(year, 8, 25)
    assert a.facts["extensions"] == year - 2017
    assert [(d.kind, d.at) for d in a.deadlines] == [
        ("notice_deadline", kst(year, 8, 25)),
        ("renewal", kst(year, 11, 23)),
    ]
    assert a.deadlines[0].key == f"notice:{year}-11-23"
    assert a.deadlines[1].key == f"renewal:{year}-11-23"


def test_gsomia_2027_deadlines(rules: AutoRenewingAgreement) -> None:
    renewal = rules.term_end(date(2016, 11, 23), 11)
    assert renewal == kst(2027, 11, 23)
    assert rules.notice_deadline(renewal) == kst(2027, 8, 25)


# -- the 2019 notice ------------------------------------------------------------------


def test_notice_of_2019_sets_the_end(item: ItemSpec, facts: list[EventFact]) -> None:
    a = item.assess(facts, kst(2019, 11, 1))
    assert a.stage == "termination_notified"
    assert a.since == kst(2019, 8, 23, 15, 25)
    assert a.derived is False
    assert a.facts["ends_at"] == kst(2019, 11, 23)
    assert len(a.deadlines) == 1
    only = a.deadlines[0]
    assert only.kind == "termination"
    assert only.at == kst(2019, 11, 23)
    assert a.next_deadline == only
    assert a.facts["next_renewal"] is None
    assert a.facts["revivable"] is False


@pytest.mark.parametrize(
    ("now", "extensions", "suspended"),
    [(kst(2019, 11, 22, 19), 2, 0), (kst(2019, 11, 23, 12), 3, 1), (kst(2020, 6, 1, 12), 3, 1)],
)
def test_suspension_keeps_it_in_force(
    item: ItemSpec, facts: list[EventFact], now: datetime, extensions: int, suspended: int
) -> None:
    a = item.assess(facts, now)
    assert a.stage == "notice_suspended"
    assert a.since == kst(2019, 11, 22, 18)
    assert a.derived is False
    assert a.facts["revivable"] is True
    assert a.facts["suspended_since"] == kst(2019, 11, 22, 18)
    assert a.facts["terminated_at"] is None
    assert a.facts["ends_at"] is None
    assert a.facts["extensions"] == extensions
    # The anniversary passed during the suspension is not a plain renewal on the record.
    assert a.facts["extensions_suspended"] == suspended
    assert a.facts["extensions_assumed"] == 0
    # Seoul's position was that lifting the suspension ends it at once: no 90-day term,
    # so no notice deadline or renewal is computed while it lasts.
    assert a.deadlines == ()
    assert a.facts["next_renewal"] is None
    assert a.facts["notice_deadline"] is None


def test_day_precision_changes_count_once_the_day_is_over(
    item: ItemSpec, facts: list[EventFact]
) -> None:
    """Signed and in force on 23 Nov 2016, at an unrecorded time: not yet at 00:00 that day."""
    at_midnight = item.assess(facts, kst(2016, 11, 23))
    assert at_midnight.stage == "initialled"
    assert at_midnight.since == kst(2016, 11, 14)
    assert at_midnight.valid_until == kst(2016, 11, 24)
    late_that_day = item.assess(facts, kst(2016, 11, 23, 23, 59))
    assert late_that_day.stage == "initialled"
    next_day = item.assess(facts, kst(2016, 11, 24))
    assert next_day.stage == "in_force"
    # Still shown on its own date.
    assert next_day.since == kst(2016, 11, 23)


def test_without_suspension_it_terminates_at_the_term_end(item: ItemSpec) -> None:
    history = seed_without(item, "notice_suspended", "notice_withdrawn")
    just_before = item.assess(history, kst(2019, 11, 23) - timedelta(seconds=1))
    assert just_before.stage == "termination_notified"

    a = item.assess(history, kst(2019, 11, 23))
    assert a.stage == "terminated"
    assert a.derived is True
    assert a.since == kst(2019, 11, 23)
    assert a.deadlines == ()
    assert a.next_deadline is None
    assert a.facts["terminated_at"] == kst(2019, 11, 23)
    assert a.facts["extensions"] == 2
    assert a.facts["revivable"] is False

    later = item.assess(history, kst(2026, 11, 23, 9))
    assert later.stage == "terminated"
    assert later.since == kst(2019, 11, 23)
    assert later.facts["extensions"] == 2
    assert later.deadlines == ()


def test_withdrawal_returns_to_normal(item: ItemSpec, facts: list[EventFact]) -> None:
    a = item.assess(facts, kst(2023, 3, 22))
    assert a.stage == "notice_withdrawn"
    assert a.since == kst(2023, 3, 21)
    assert a.facts["revivable"] is False
    assert [(d.kind, d.at) for d in a.deadlines] == [
        ("notice_deadline", kst(2023, 8, 25)),
        ("renewal", kst(2023, 11, 23)),
    ]
    assert a.facts["extensions"] == 6


def test_status_in_2026(item: ItemSpec, facts: list[EventFact]) -> None:
    now = kst(2026, 11, 23, 9)
    a = item.assess(facts, now)
    assert a.stage == "notice_withdrawn"
    assert a.facts["extensions"] == 10
    # 2019-2022 passed during the suspended notice; 2023-2026 after the last recorded
    # change, assuming no notice: only 2017 and 2018 are plain renewals on the record.
    assert a.facts["extensions_suspended"] == 4
    assert a.facts["extensions_assumed"] == 4
    assert a.facts["next_renewal"] == kst(2027, 11, 23)
    assert a.facts["notice_deadline"] == kst(2027, 8, 25)
    assert a.facts["in_force_since"] == kst(2016, 11, 23)
    assert [d.kind for d in a.deadlines] == ["notice_deadline", "renewal"]
    assert [d.at for d in a.deadlines] == sorted(d.at for d in a.deadlines)
    assert a.deadlines[0].at == kst(2027, 8, 25)
    assert a.deadlines[1].at == kst(2027, 11, 23)


def test_between_notice_deadline_and_renewal(item: ItemSpec, facts: list[EventFact]) -> None:
    now = kst(2027, 9, 1)
    a = item.assess(facts, now)
    assert a.facts["next_renewal"] == kst(2027, 11, 23)
    # The fact still names this renewal's deadline; the list offers the one that counts.
    assert a.facts["notice_deadline"] == kst(2027, 8, 25)
    assert [(d.kind, d.at, d.key) for d in a.deadlines] == [
        ("renewal", kst(2027, 11, 23), "renewal:2027-11-23"),
        ("notice_deadline", kst(2028, 8, 25), "notice:2028-11-23"),
    ]


def test_at_the_notice_deadline_instant(item: ItemSpec, facts: list[EventFact]) -> None:
    a = item.assess(facts, kst(2027, 8, 25))
    assert [d.kind for d in a.deadlines] == ["renewal", "notice_deadline"]
    assert a.deadlines[1].at == kst(2028, 8, 25)
    b = item.assess(facts, kst(2027, 8, 24, 23, 59))
    assert [d.kind for d in b.deadlines] == ["notice_deadline", "renewal"]
    assert b.deadlines[0].at == kst(2027, 8, 25)


# -- when a notice takes effect ---------------------------------------------------------


@pytest.mark.parametrize(
    ("notice_at", "ends_at"),
    [
        (kst(2027, 8, 24, 23, 59), kst(2027, 11, 23)),
        (kst(2027, 8, 25), kst(2028, 11, 23)),
        (kst(2027, 8, 25, 0, 1), kst(2028, 11, 23)),
        (kst(2027, 11, 22, 23, 59), kst(2028, 11, 23)),
        (kst(2027, 11, 23), kst(2028, 11, 23)),
        (kst(2028, 8, 24, 12), kst(2028, 11, 23)),
    ],
)
def test_notice_timing(item: ItemSpec, notice_at: datetime, ends_at: datetime) -> None:
    rules = item.rules
    assert isinstance(rules, AutoRenewingAgreement)
    assert rules.end_for_notice(date(2016, 11, 23), notice_at) == ends_at
    history = [*in_force_history(), EventFact(notice_at, "termination_notified", order=1)]
    a = item.assess(history, notice_at + timedelta(minutes=1))
    assert a.stage == "termination_notified"
    assert a.facts["ends_at"] == ends_at
    assert [(d.kind, d.at) for d in a.deadlines] == [("termination", ends_at)]
    ended = item.assess(history, ends_at)
    assert ended.stage == "terminated"
    assert ended.derived is True
    assert ended.since == ends_at


# -- transitions ----------------------------------------------------------------------


def test_seed_history_validates(item: ItemSpec, facts: list[EventFact]) -> None:
    item.validate(facts)  # raises on failure
    assert any(f.stage == "notice_withdrawn" for f in facts)


def test_suspension_straight_after_in_force_is_refused(item: ItemSpec) -> None:
    history = [*in_force_history(), EventFact(kst(2019, 11, 22, 18), "notice_suspended", order=1)]
    with pytest.raises(StageChangeError) as err:
        item.validate(history)
    message = str(err.value)
    assert "notice_suspended" in message
    assert "in_force" in message
    assert "termination_notified" in message  # what is allowed after in_force


def test_nothing_follows_terminated(item: ItemSpec) -> None:
    history = [
        *in_force_history(),
        EventFact(kst(2020, 1, 1), "terminated", order=1),
        EventFact(kst(2021, 1, 1), "in_force", order=2),
    ]
    with pytest.raises(StageChangeError) as err:
        item.validate(history)
    message = str(err.value)
    assert "'in_force'" in message
    assert "'terminated'" in message
    assert "final" in message


def test_nothing_follows_a_derived_termination(item: ItemSpec) -> None:
    history = [
        *in_force_history(),
        EventFact(kst(2019, 8, 23, 15, 25), "termination_notified", order=1),
        # Too late: the notice took effect at 2019-11-23 00:00.
        EventFact(kst(2019, 11, 23, 6), "notice_suspended", order=2),
    ]
    with pytest.raises(StageChangeError) as err:
        item.validate(history)
    message = str(err.value)
    assert "notice_suspended" in message
    assert "terminated" in message
    assert "reached by the rules" in message


def test_suspension_just_in_time_is_accepted(item: ItemSpec) -> None:
    history = [
        *in_force_history(),
        EventFact(kst(2019, 8, 23, 15, 25), "termination_notified", order=1),
        EventFact(kst(2019, 11, 22, 23, 59), "notice_suspended", order=2),
    ]
    item.validate(history)
    assert item.assess(history, kst(2019, 11, 23, 1)).stage == "notice_suspended"


def test_unknown_stage_is_refused(item: ItemSpec) -> None:
    history = [*in_force_history(), EventFact(kst(2020, 1, 1), "expired", order=1)]
    with pytest.raises(StageChangeError) as err:
        item.validate(history)
    message = str(err.value)
    assert "'expired'" in message
    assert "auto-renewing-agreement" in message
    assert "notice_withdrawn" in message  # the list of stages
