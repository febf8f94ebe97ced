"""Properties of the calendar rules over random dates, periods, instants and zones.

The reference term ends here are computed independently of tracker.timeutil's
month arithmetic; what "the start of a local day" means is checked directly
(the instant one second earlier lies on the previous local day), so nothing is
off by an hour in zones with daylight saving, half-hour offsets or transitions
at midnight.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracker.model import Assessment, EventFact, Precision
from tracker.rules.agreement import AgreementParams, AutoRenewingAgreement
from tracker.rules.motion import KrAssemblyDismissal, MotionParams
from tracker.timeutil import day_start, local_date

ZONES = [
    "Asia/Seoul",
    "UTC",
    "America/New_York",
    "Europe/London",
    "Australia/Lord_Howe",
    "America/Santiago",
    "America/Havana",
    "Asia/Kathmandu",
]

SECOND = timedelta(seconds=1)
PROPERTY_SETTINGS = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


# -- an independent reference --------------------------------------------------------


def ref_add_months(day: date, months: int) -> date:
    year = day.year + (day.month - 1 + months) // 12
    month = (day.month - 1 + months) % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def ref_term_end_date(anchor: date, k: int, params: AgreementParams) -> date:
    months = params.initial_term_months + (k - 1) * params.renewal_period_months
    return ref_add_months(anchor, months)


def is_day_start(instant: datetime, day: date, tz: ZoneInfo) -> bool:
    """``instant`` is the first whole second of local ``day`` in ``tz``."""
    return (
        local_date(instant, tz) == day
        and local_date(instant - SECOND, tz) == day - timedelta(days=1)
        and day_start(local_date(instant, tz), tz) == instant
    )


@dataclass(frozen=True)
class Case:
    zone: str
    params: AgreementParams
    anchor: date
    history: tuple[EventFact, ...]
    in_force_from: datetime
    now: datetime

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def rules(self) -> AutoRenewingAgreement:
        return AutoRenewingAgreement(self.params, self.tz)

    def term_end_dates(self, through: datetime) -> list[date]:
        """Local dates of every term end at or before ``through``, and the first after it."""
        out: list[date] = []
        k = 1
        while True:
            day = ref_term_end_date(self.anchor, k, self.params)
            out.append(day)
            if day_start(day, self.tz) > through:
                return out
            k += 1


@st.composite
def cases(draw: st.DrawFn) -> Case:
    zone = draw(st.sampled_from(ZONES))
    tz = ZoneInfo(zone)
    anchor = draw(st.dates(date(1950, 1, 1), date(2100, 12, 31)))
    notice = draw(st.integers(0, 400))
    initial = draw(st.integers(1, 36))
    renewal = draw(st.integers(1, 36))
    how = draw(st.sampled_from(["params", "event", "both"]))
    start = day_start(anchor, tz)
    if how == "params":
        history: tuple[EventFact, ...] = ()
        in_force_from = start
    elif how == "event":
        # Recorded some time during the day it entered into force.
        in_force_from = start + timedelta(minutes=draw(st.integers(0, 22 * 60)))
        history = (EventFact(in_force_from, "in_force", Precision.DATETIME, 0),)
    else:
        in_force_from = start
        history = (EventFact(start, "in_force", Precision.DATE, 0),)
    params = AgreementParams(
        entry_into_force=None if how == "event" else anchor,
        initial_term_months=initial,
        renewal_period_months=renewal,
        notice_period_days=notice,
    )
    # A date-only entry into force counts once its day is over.
    counts = in_force_from if how == "event" else day_start(anchor + timedelta(days=1), tz)
    # "now": anywhere in the next 40 years, or close to one of the term ends.
    if draw(st.booleans()):
        now = counts + timedelta(seconds=draw(st.integers(1, 40 * 366 * 86400)))
    else:
        k = draw(st.integers(1, 12))
        end = day_start(ref_term_end_date(anchor, k, params), tz)
        now = end + timedelta(seconds=draw(st.integers(-2 * 86400, 2 * 86400)))
        now = max(now, counts + SECOND)
    return Case(zone, params, anchor, history, in_force_from, now)


def assess(case: Case) -> Assessment:
    return case.rules().assess(case.history, case.now)


# -- agreement properties ---------------------------------------------------------------


@PROPERTY_SETTINGS
@given(cases())
def test_deadlines_are_upcoming_and_sorted(case: Case) -> None:
    a = assess(case)
    assert a.stage == "in_force"
    times = [d.at for d in a.deadlines]
    assert times == sorted(times)
    assert all(t > case.now for t in times), (case, a.deadlines)
    assert sorted(d.kind for d in a.deadlines) == ["notice_deadline", "renewal"]
    assert all(t.utcoffset() == timedelta(0) for t in times)


@PROPERTY_SETTINGS
@given(cases())
def test_next_renewal_is_the_first_term_end_after_now(case: Case) -> None:
    a = assess(case)
    renewal = a.facts["next_renewal"]
    assert isinstance(renewal, datetime)
    ends = case.term_end_dates(case.now)
    expected_day = ends[-1]
    assert renewal > case.now
    assert is_day_start(renewal, expected_day, case.tz)
    previous = day_start(ends[-2], case.tz) if len(ends) > 1 else case.in_force_from
    assert previous <= case.now
    renewal_deadline = next(d for d in a.deadlines if d.kind == "renewal")
    assert renewal_deadline.at == renewal
    assert renewal_deadline.key == f"renewal:{expected_day.isoformat()}"


@PROPERTY_SETTINGS
@given(cases())
def test_notice_deadline_is_whole_calendar_days_before_the_renewal(case: Case) -> None:
    a = assess(case)
    tz = case.tz
    renewal = a.facts["next_renewal"]
    notice = a.facts["notice_deadline"]
    assert isinstance(renewal, datetime)
    assert isinstance(notice, datetime)
    days = case.params.notice_period_days
    assert notice == day_start(local_date(renewal, tz) - timedelta(days=days), tz)
    assert day_start(local_date(renewal, tz), tz) == renewal
    assert day_start(local_date(notice, tz), tz) == notice
    assert (local_date(renewal, tz) - local_date(notice, tz)).days == days
    assert is_day_start(notice, local_date(renewal, tz) - timedelta(days=days), tz)


@PROPERTY_SETTINGS
@given(cases())
def test_listed_notice_deadline_is_the_next_one_that_counts(case: Case) -> None:
    """The listed notice deadline belongs to the first term end whose deadline is still ahead."""
    a = assess(case)
    tz = case.tz
    days = timedelta(days=case.params.notice_period_days)
    listed = next(d for d in a.deadlines if d.kind == "notice_deadline")
    k = len(case.term_end_dates(case.now))  # index of the next renewal
    while True:
        end_day = ref_term_end_date(case.anchor, k, case.params)
        deadline = day_start(end_day - days, tz)
        if deadline > case.now:
            break
        k += 1
    assert listed.at == deadline
    assert listed.key == f"notice:{end_day.isoformat()}"
    # A notice given now takes effect at exactly that term end.
    assert case.rules().end_for_notice(case.anchor, case.now) == day_start(end_day, tz)


@PROPERTY_SETTINGS
@given(cases())
def test_extensions_count_the_term_ends_passed(case: Case) -> None:
    a = assess(case)
    passed = len(case.term_end_dates(case.now)) - 1
    assert a.facts["extensions"] == passed
    assert a.facts["in_force_since"] == case.in_force_from
    assert a.since == case.in_force_from
    assert a.derived is (not case.history)


@PROPERTY_SETTINGS
@given(cases(), st.integers(1, 3 * 86400))
def test_a_notice_ends_it_at_a_term_end_after_its_deadline(case: Case, later: int) -> None:
    """A notice given now ends the agreement at a term end; after it, it is terminated."""
    rules = case.rules()
    history = (*case.history, EventFact(case.now, "termination_notified", order=1))
    a = rules.assess(history, case.now)
    ends_at = a.facts["ends_at"]
    assert a.stage == "termination_notified"
    assert isinstance(ends_at, datetime)
    assert ends_at > case.now
    assert rules.notice_deadline(ends_at) > case.now
    assert [d.at for d in a.deadlines] == [ends_at]
    before = rules.assess(history, ends_at - SECOND)
    assert before.stage == "termination_notified"
    after = rules.assess(history, ends_at + timedelta(seconds=later))
    assert after.stage == "terminated"
    assert after.since == ends_at
    assert after.derived is True
    assert after.deadlines == ()
    # The term end that ended it is not an extension.
    assert after.facts["extensions"] == len(case.term_end_dates(ends_at)) - 2


# -- the motion window -------------------------------------------------------------------


@PROPERTY_SETTINGS
@given(
    st.sampled_from(ZONES).flatmap(
        lambda zone: st.datetimes(
            min_value=datetime(1950, 1, 1),  # noqa: DTZ001 (hypothesis wants naive bounds)
            max_value=datetime(2100, 12, 31),  # noqa: DTZ001
            timezones=st.just(ZoneInfo(zone)),
            allow_imaginary=False,
        )
    )
)
def test_motion_window_is_absolute_hours(reported: datetime) -> None:
    tz = reported.tzinfo
    assert isinstance(tz, ZoneInfo)
    rules = KrAssemblyDismissal(MotionParams(), tz)
    history = [
        EventFact(reported - timedelta(days=1), "submitted", order=0),
        EventFact(reported, "reported", order=1),
    ]
    reported_utc = reported.astimezone(UTC)
    a = rules.assess(history, reported)
    opens, closes = a.facts["window_opens"], a.facts["window_closes"]
    assert isinstance(opens, datetime)
    assert isinstance(closes, datetime)
    assert closes.astimezone(UTC) - reported_utc == timedelta(hours=72)
    assert opens.astimezone(UTC) - reported_utc == timedelta(hours=24)
    assert [d.at.astimezone(UTC) for d in a.deadlines] == [
        reported_utc + timedelta(hours=24),
        reported_utc + timedelta(hours=72),
    ]
    assert rules.assess(history, reported_utc + timedelta(hours=72)).stage == "reported"
    late = rules.assess(history, reported_utc + timedelta(hours=72) + SECOND)
    assert late.stage == "discarded"
    assert late.since == reported_utc + timedelta(hours=72)


def test_reference_helpers() -> None:
    # The reference itself: clamping at month ends and a day start across a midnight gap.
    assert ref_add_months(date(2020, 1, 31), 1) == date(2020, 2, 29)
    assert ref_add_months(date(2020, 1, 31), 13) == date(2021, 2, 28)
    havana = ZoneInfo("America/Havana")
    # Cuba moved its clocks from 00:00 to 01:00 on 8 March 2020: the day starts at 01:00.
    start = day_start(date(2020, 3, 8), havana)
    assert start == datetime(2020, 3, 8, 5, 0, tzinfo=UTC)
    assert is_day_start(start, date(2020, 3, 8), havana)
    assert not is_day_start(
        datetime.combine(date(2020, 3, 8), time(0), tzinfo=havana).astimezone(UTC) - SECOND,
        date(2020, 3, 8),
        havana,
    )


def _same_reading(a: Assessment, b: Assessment) -> bool:
    return (a.stage, a.since, a.derived, dict(a.facts), a.deadlines) == (
        b.stage,
        b.since,
        b.derived,
        dict(b.facts),
        b.deadlines,
    )


@PROPERTY_SETTINGS
@given(cases(), st.floats(0, 1), st.booleans())
def test_an_assessment_holds_until_its_valid_until(
    case: Case, fraction: float, with_notice: bool
) -> None:
    # The read cache reuses an assessment for any instant before valid_until: it must not change
    # before then, with or without a pending notice, and must change no later than the mark.
    history = case.history
    rules = case.rules()
    if with_notice:
        history = (*history, EventFact(case.now - SECOND, "termination_notified", order=1))
        if not case.history and case.now - SECOND <= case.in_force_from:
            return
    first = rules.assess(history, case.now)
    if first.valid_until is None:
        return
    assert first.valid_until > case.now
    span = first.valid_until - case.now
    later = case.now + span * fraction
    if later >= first.valid_until:
        later = first.valid_until - SECOND
    if later >= case.now:
        assert _same_reading(rules.assess(history, later), first)


@PROPERTY_SETTINGS
@given(st.integers(0, 100 * 3600))
def test_a_motion_assessment_holds_until_its_valid_until(offset: int) -> None:
    rules = KrAssemblyDismissal(MotionParams(), ZoneInfo("Asia/Seoul"))
    reported = datetime(2016, 12, 1, 14, tzinfo=UTC)
    history = [
        EventFact(reported - timedelta(days=1), "submitted", order=0),
        EventFact(reported, "reported", order=1),
    ]
    now = reported + timedelta(seconds=offset)
    first = rules.assess(history, now)
    if first.valid_until is not None:
        before = first.valid_until - SECOND
        assert _same_reading(rules.assess(history, before), first)
        assert not _same_reading(rules.assess(history, first.valid_until + SECOND), first)
