"""The kr-assembly-dismissal rule set on the real Han Min-koo configuration (SPEC §2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from config.tracker import load_tracker
from tracker.items import ItemSpec
from tracker.model import EventFact, Precision, StageChangeError
from tracker.rules.motion import KrAssemblyDismissal, MotionParams

KST = ZoneInfo("Asia/Seoul")
CONFIG = Path(__file__).parents[1] / "config" / "tracker.toml"
H = timedelta(hours=1)

# Reported to the plenary (the 2016 plan: 1 Dec, in the afternoon).
T = datetime(2016, 12, 1, 14, 0, tzinfo=KST)


@pytest.fixture(scope="module")
def item() -> ItemSpec:
    spec = load_tracker(CONFIG).item("han-minkoo-dismissal")
    assert spec is not None
    return spec


def reported_history(at: datetime = T) -> list[EventFact]:
    return [
        EventFact(at - timedelta(days=16), "announced", Precision.DATE, 0),
        EventFact(at - timedelta(days=1), "submitted", order=1),
        EventFact(at, "reported", order=2),
    ]


def with_vote(at: datetime, stage: str = "passed") -> list[EventFact]:
    return [*reported_history(), EventFact(at, stage, order=3)]


# -- the seed ---------------------------------------------------------------------------


def test_seed_reads_as_shelved(item: ItemSpec) -> None:
    facts = [EventFact(e.occurred_at, e.stage, e.precision, n) for n, e in enumerate(item.seed)]
    item.validate(facts)
    a = item.assess(facts, datetime(2026, 11, 23, tzinfo=KST))
    assert a.stage == "shelved"
    assert a.since == datetime(2016, 11, 24, tzinfo=KST)
    assert a.derived is False
    assert a.deadlines == ()
    assert a.facts["proposal_threshold"] == 100
    assert a.facts["passage_threshold"] == 151
    assert a.facts["seats"] == 300
    assert a.facts["reported_at"] is None
    assert a.facts["deemed_discarded"] is False


def test_seed_before_shelving_reads_as_announced(item: ItemSpec) -> None:
    facts = [EventFact(e.occurred_at, e.stage, e.precision, n) for n, e in enumerate(item.seed)]
    a = item.assess(facts, datetime(2016, 11, 20, tzinfo=KST))
    assert a.stage == "announced"
    assert a.since == datetime(2016, 11, 15, tzinfo=KST)


@pytest.mark.parametrize(
    ("seats", "proposal", "passage"),
    [(300, 100, 151), (299, 100, 150), (301, 101, 151), (3, 1, 2)],
)
def test_thresholds(seats: int, proposal: int, passage: int) -> None:
    params = MotionParams(seats=seats)
    assert params.proposal_threshold == proposal
    assert params.passage_threshold == passage


# -- the vote window ----------------------------------------------------------------------


def test_window_bounds(item: ItemSpec) -> None:
    a = item.assess(reported_history(), T + H)
    assert a.stage == "reported"
    assert a.facts["reported_at"] == T
    assert a.facts["window_opens"] == T + 24 * H
    assert a.facts["window_closes"] == T + 72 * H


def test_before_the_window_opens_both_deadlines(item: ItemSpec) -> None:
    a = item.assess(reported_history(), T + 23 * H)
    assert [(d.key, d.kind, d.at) for d in a.deadlines] == [
        ("window-opens", "window_opens", T + 24 * H),
        ("window-closes", "window_closes", T + 72 * H),
    ]


def test_inside_the_window_only_the_close(item: ItemSpec) -> None:
    a = item.assess(reported_history(), T + 30 * H)
    assert a.stage == "reported"
    assert [(d.kind, d.at) for d in a.deadlines] == [("window_closes", T + 72 * H)]


def test_at_the_close_it_is_still_reported(item: ItemSpec) -> None:
    a = item.assess(reported_history(), T + 72 * H)
    assert a.stage == "reported"
    assert a.derived is False
    assert a.since == T
    assert a.facts["deemed_discarded"] is False
    assert [d.key for d in a.deadlines] == ["window-closes"]


def test_after_the_close_it_is_deemed_discarded(item: ItemSpec) -> None:
    a = item.assess(reported_history(), T + 72 * H + timedelta(seconds=1))
    assert a.stage == "discarded"
    assert a.derived is True
    assert a.facts["deemed_discarded"] is True
    assert a.since == T + 72 * H
    assert a.deadlines == ()
    # The window stays on record.
    assert a.facts["window_closes"] == T + 72 * H


def test_recorded_discard_is_not_deemed(item: ItemSpec) -> None:
    history = with_vote(T + 30 * H, "discarded")
    a = item.assess(history, T + 100 * H)
    assert a.stage == "discarded"
    assert a.derived is False
    assert a.facts["deemed_discarded"] is False


def test_vote_inside_the_window_is_accepted(item: ItemSpec) -> None:
    history = with_vote(T + 30 * H)
    item.validate(history)
    a = item.assess(history, T + 100 * H)
    assert a.stage == "passed"
    assert a.since == T + 30 * H
    assert a.derived is False
    assert a.deadlines == ()


@pytest.mark.parametrize("offset", [24 * H + timedelta(seconds=1), 72 * H])
def test_vote_at_the_window_edges_is_accepted(item: ItemSpec, offset: timedelta) -> None:
    history = with_vote(T + offset, "rejected")
    item.validate(history)
    assert item.assess(history, T + 200 * H).stage == "rejected"


@pytest.mark.parametrize("offset", [10 * H, 24 * H])
def test_vote_before_the_window_is_refused(item: ItemSpec, offset: timedelta) -> None:
    with pytest.raises(StageChangeError) as err:
        item.validate(with_vote(T + offset))
    message = str(err.value)
    assert "too early" in message
    assert "window" in message
    # The opening is shown in the item's zone: 24 h after 2016-12-01 14:00 KST.
    assert "2016-12-02 14:00" in message


def test_date_only_vote_on_the_opening_day_is_accepted(item: ItemSpec) -> None:
    # 2 Dec, date only: that day meets the window, which opens at 14:00.
    vote = EventFact(datetime(2016, 12, 2, tzinfo=KST), "passed", Precision.DATE, 3)
    history = [*reported_history(), vote]
    item.validate(history)
    assert item.assess(history, T + 100 * H).stage == "passed"


def test_date_only_vote_on_the_report_day_is_refused(item: ItemSpec) -> None:
    # Reported on 1 Dec (date only, so 00:00): the window opens at 00:00 on 2 Dec, and
    # a vote known only to be on 1 Dec cannot fall inside it.
    day = datetime(2016, 12, 1, tzinfo=KST)
    history = [
        EventFact(day - timedelta(days=1), "submitted", Precision.DATE, 0),
        EventFact(day, "reported", Precision.DATE, 1),
        EventFact(day, "passed", Precision.DATE, 2),
    ]
    with pytest.raises(StageChangeError) as err:
        item.validate(history)
    assert "too early" in str(err.value)
    # The next day is fine.
    item.validate([*history[:2], EventFact(day + 24 * H, "passed", Precision.DATE, 2)])


def test_vote_after_the_window_is_refused(item: ItemSpec) -> None:
    with pytest.raises(StageChangeError) as err:
        item.validate(with_vote(T + 73 * H))
    message = str(err.value)
    assert "'passed'" in message
    assert "'discarded'" in message
    assert "reached by the rules" in message


# -- transitions -------------------------------------------------------------------------


def test_announced_cannot_pass(item: ItemSpec) -> None:
    history = [
        EventFact(T - timedelta(days=16), "announced", order=0),
        EventFact(T, "passed", order=1),
    ]
    with pytest.raises(StageChangeError) as err:
        item.validate(history)
    message = str(err.value)
    assert "'passed'" in message
    assert "'announced'" in message
    assert "submitted, shelved" in message  # what may follow 'announced'


def test_first_stage_must_be_a_beginning(item: ItemSpec) -> None:
    with pytest.raises(StageChangeError) as err:
        item.validate([EventFact(T, "reported")])
    message = str(err.value)
    assert "'reported'" in message
    assert "(no stage yet)" in message
    assert "announced, submitted" in message


def test_final_stages_allow_nothing(item: ItemSpec) -> None:
    history = [*with_vote(T + 30 * H), EventFact(T + 40 * H, "rejected", order=4)]
    with pytest.raises(StageChangeError) as err:
        item.validate(history)
    assert "final" in str(err.value)


def test_unknown_stage(item: ItemSpec) -> None:
    history = [*reported_history(), EventFact(T + 30 * H, "vetoed", order=3)]
    with pytest.raises(StageChangeError) as err:
        item.validate(history)
    message = str(err.value)
    assert "'vetoed'" in message
    assert "kr-assembly-dismissal" in message
    for stage in KrAssemblyDismissal.stages:
        assert stage in message


def test_shelved_can_be_revived(item: ItemSpec) -> None:
    history = [
        EventFact(T - timedelta(days=20), "announced", order=0),
        EventFact(T - timedelta(days=10), "shelved", order=1),
        EventFact(T - timedelta(days=1), "submitted", order=2),
        EventFact(T, "reported", order=3),
    ]
    item.validate(history)
    assert item.assess(history, T + H).stage == "reported"


def test_window_is_absolute_time_in_utc_too(item: ItemSpec) -> None:
    reported = datetime(2016, 12, 1, 5, 0, tzinfo=UTC)
    a = item.assess(reported_history(reported), reported + H)
    closes = a.facts["window_closes"]
    assert isinstance(closes, datetime)
    assert closes - reported == 72 * H
