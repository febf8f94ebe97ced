"""A motion reported on a known day at an unknown time: its vote window counted safely.

Reported on 3 Mar 2027, time unknown (so at some instant of [3 Mar 00:00, 4 Mar 00:00)
KST). A vote is surely allowed only after 5 Mar 00:00 (end of day + 24 h) and surely
in time only until 6 Mar 00:00 (start of day + 72 h); it is too early only at or before
4 Mar 00:00 and the motion is deemed discarded only after 7 Mar 00:00.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from render.words import status_words
from runtime.check import _moment
from tests.test_chart_plan import _event, _motion, _plan
from tracker.model import Assessment, EventFact, Precision, StageChangeError
from tracker.rules.motion import KrAssemblyDismissal, MotionParams

KST = ZoneInfo("Asia/Seoul")
H = timedelta(hours=1)
S = timedelta(seconds=1)
DAY = datetime(2027, 3, 3, tzinfo=KST)
RULES = KrAssemblyDismissal(MotionParams(), KST)


def date_only_report() -> list[EventFact]:
    return [
        EventFact(DAY - timedelta(days=1), "submitted", Precision.DATE, 0),
        EventFact(DAY, "reported", Precision.DATE, 1),
    ]


def deadlines(a: Assessment) -> list[tuple[str, str, datetime]]:
    return [(d.key, d.kind, d.at) for d in a.deadlines]


def lines(a: Assessment, language: str = "en") -> dict[str, tuple[str, str]]:
    return {
        line.key: (text, note)
        for line, _, text, note in status_words(language, RULES, a, _moment(KST))
    }


# -- the approximate window -------------------------------------------------------------


def test_on_the_report_day_the_report_does_not_count_yet() -> None:
    assert RULES.assess(date_only_report(), DAY + 23 * H).stage == "submitted"


def test_the_window_is_approximate_and_counted_safely() -> None:
    a = RULES.assess(date_only_report(), DAY + 25 * H)
    assert a.stage == "reported"
    assert a.facts["window_approximate"] is True
    assert a.facts["window_opens"] == DAY + 48 * H
    assert a.facts["window_closes"] == DAY + 72 * H
    assert a.facts["window_earliest"] == DAY + 24 * H
    assert a.facts["window_latest"] == DAY + 96 * H
    assert deadlines(a) == [
        ("window-opens", "window_opens_approx", DAY + 48 * H),
        ("window-closes", "window_closes_approx", DAY + 72 * H),
    ]
    assert a.valid_until == DAY + 48 * H


@pytest.mark.parametrize(
    ("now", "stage", "kinds", "valid_until"),
    [
        (DAY + 48 * H - S, "reported", ["window_opens_approx", "window_closes_approx"], 48),
        (DAY + 48 * H, "reported", ["window_closes_approx"], 72),
        (DAY + 72 * H, "reported", ["window_closes_approx"], 72),
        # The window may have closed, but not surely: still reported, no deadline left.
        (DAY + 72 * H + S, "reported", [], 96),
        (DAY + 96 * H, "reported", [], 96),
        (DAY + 96 * H + S, "discarded", [], None),
    ],
)
def test_around_the_boundaries(
    now: datetime, stage: str, kinds: list[str], valid_until: int | None
) -> None:
    a = RULES.assess(date_only_report(), now)
    assert a.stage == stage
    assert [d.kind for d in a.deadlines] == kinds
    assert a.valid_until == (None if valid_until is None else DAY + valid_until * H)


def test_deemed_discarded_only_once_surely_past() -> None:
    a = RULES.assess(date_only_report(), DAY + 96 * H + S)
    assert (a.stage, a.derived, a.since) == ("discarded", True, DAY + 96 * H)
    assert a.facts["deemed_discarded"] is True


@pytest.mark.parametrize("vote_at", [DAY + 24 * H + S, DAY + 30 * H, DAY + 96 * H])
def test_a_vote_that_may_be_in_time_is_accepted(vote_at: datetime) -> None:
    history = [*date_only_report(), EventFact(vote_at, "passed", order=2)]
    RULES.validate(history)
    assert RULES.assess(history, DAY + 200 * H).stage == "passed"


def test_a_vote_surely_too_early_is_refused() -> None:
    with pytest.raises(StageChangeError) as err:
        RULES.validate([*date_only_report(), EventFact(DAY + 24 * H, "passed", order=2)])
    assert err.value.code == "vote_too_early"


def test_a_vote_surely_too_late_is_refused() -> None:
    with pytest.raises(StageChangeError):
        RULES.validate([*date_only_report(), EventFact(DAY + 96 * H + S, "passed", order=2)])


def test_status_line_says_approximate_in_both_languages() -> None:
    a = RULES.assess(date_only_report(), DAY + 25 * H)
    assert "vote_window" not in lines(a)
    text, note = lines(a)["vote_window_approx"]
    assert text == (
        "about 24–72 h after the report on 3 Mar 2027 (the time of the report is not known): "
        "from 4 Mar 2027 to 6 Mar 2027"
    )
    assert "surely allowed after 2027-03-05 00:00 KST" in note
    assert "surely in time until 2027-03-06 00:00 KST" in note
    assert "deemed discarded after 2027-03-07 00:00 KST" in note
    korean, _ = lines(a, "ko")["vote_window_approx"]
    assert korean.startswith("보고 시각 미상: ")
    assert "경부터" in korean and "경까지" in korean


# -- the time given by a moderator --------------------------------------------------------


def test_an_edit_to_a_time_makes_it_exact() -> None:
    edited = [date_only_report()[0], EventFact(DAY + 14 * H, "reported", order=1)]
    a = RULES.assess(edited, DAY + 25 * H)
    assert a.facts["window_approximate"] is False
    assert deadlines(a) == [
        ("window-opens", "window_opens", DAY + 38 * H),
        ("window-closes", "window_closes", DAY + 86 * H),
    ]
    assert "vote_window_approx" not in lines(a)
    assert "vote_window" in lines(a)
    assert RULES.assess(edited, DAY + 86 * H + S).stage == "discarded"


def test_a_second_report_with_a_time_on_that_day_makes_it_exact() -> None:
    history = [*date_only_report(), EventFact(DAY + 14 * H, "reported", order=2)]
    RULES.validate(history)
    for now in (DAY + 15 * H, DAY + 25 * H):
        a = RULES.assess(history, now)
        assert a.stage == "reported"
        assert a.since == DAY + 14 * H
        assert a.facts["window_approximate"] is False
        assert a.facts["window_opens"] == DAY + 38 * H
        assert a.facts["window_closes"] == DAY + 86 * H
    # Deemed discarded at the exact close, not at the safe one.
    a = RULES.assess(history, DAY + 86 * H + S)
    assert (a.stage, a.since) == ("discarded", DAY + 86 * H)


def test_a_second_report_on_another_day_is_still_refused() -> None:
    history = [*date_only_report(), EventFact(DAY + 30 * H, "reported", order=2)]
    with pytest.raises(StageChangeError):
        RULES.validate(history)


# -- the chart --------------------------------------------------------------------------


def test_the_chart_draws_every_instant_the_window_may_cover() -> None:
    events = [
        _event(1, DAY - timedelta(days=1), "submitted", "date"),
        _event(2, DAY, "reported", "date"),
    ]
    plan = _plan(_motion(), events, DAY + 25 * H)
    assert plan.vote_window is not None
    assert (plan.vote_window.start, plan.vote_window.end) == (DAY + 24 * H, DAY + 96 * H)
    assert plan.vote_window.label == "Vote window (approximate)"
    korean = _plan(_motion(), events, DAY + 25 * H, language="ko")
    assert korean.vote_window is not None and korean.vote_window.label == "표결 기간(추정)"


def test_another_report_is_suggested_only_while_the_time_is_unknown() -> None:
    approx = RULES.assess(date_only_report(), DAY + 25 * H)
    assert "reported" in RULES.next_stages(approx)
    exact = RULES.assess([date_only_report()[0], EventFact(DAY + 14 * H, "reported")], DAY + 25 * H)
    assert "reported" not in RULES.next_stages(exact)
