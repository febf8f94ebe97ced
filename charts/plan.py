"""What the chart of an item's whole life shows, decided before anything is drawn.

A plan is plain data: the stages as spans (reached by recorded events or by the
rules themselves), every event, the agreement's renewals with their notice
deadlines, a motion's vote window, and today. ``charts.draw`` only paints it,
so everything a member could check on the picture is tested here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from i18n import has, t
from tracker.items import ItemSpec
from tracker.model import Assessment, EventFact, Precision
from tracker.rules.agreement import AutoRenewingAgreement
from tracker.timeutil import day_start, ensure_utc, local_date
from views.deadlines import DeadlineRow
from views.events import EventView

# A rule set that re-reads itself at every instant could loop; no real history needs more.
MAX_STEPS = 10_000
# Space left on either side of what is shown, as a share of the whole range.
MARGIN = 0.03
MIN_MARGIN = timedelta(hours=6)
TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class StageSpan:
    stage: str
    label: str
    start: datetime
    end: datetime
    # Reached by the rules without anyone recording it (entry into force, deemed discarded).
    derived: bool
    # Still the stage at ``now``: the span runs to the end of the chart.
    current: bool


@dataclass(frozen=True, slots=True)
class EventMarker:
    at: datetime
    # The stage it recorded, in words; None for an event that changed no stage.
    label: str | None


@dataclass(frozen=True, slots=True)
class DateMarker:
    at: datetime
    kind: str  # "renewal", "notice_deadline", "termination", "custom"
    label: str
    past: bool


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime
    label: str


@dataclass(frozen=True, slots=True)
class ChartPlan:
    title: str
    subtitle: str
    language: str
    timezone: str
    start: datetime
    end: datetime
    today: datetime
    today_label: str
    stages: tuple[StageSpan, ...]
    events: tuple[EventMarker, ...]
    renewals: tuple[DateMarker, ...]
    notices: tuple[DateMarker, ...]
    others: tuple[DateMarker, ...]  # termination, custom deadlines
    vote_window: Window | None
    # Words the picture needs besides the above, in the plan's language.
    lane_labels: tuple[str, str, str]  # stages, events, deadlines
    legend_labels: tuple[tuple[str, str], ...]  # (kind, words) for markers shown


def chart_plan(
    spec: ItemSpec,
    *,
    assessment: Assessment,
    events: Sequence[EventView],
    deadlines: Sequence[DeadlineRow],
    language: str,
    now: datetime,
) -> ChartPlan:
    """The plan for ``spec``'s chart at ``now`` from its whole timeline and its deadlines."""
    now = ensure_utc(now)
    tz = spec.timezone
    facts = tuple(
        EventFact(ensure_utc(e.occurred_at), e.stage, Precision(e.precision), order=i)
        for i, e in enumerate(sorted(events, key=lambda e: (ensure_utc(e.occurred_at), e.id)))
    )
    stages = _stage_spans(spec, facts, now, language)
    markers = tuple(
        EventMarker(f.occurred_at, _words(language, spec, "stage", f.stage) if f.stage else None)
        for f in facts
    )
    renewals, notices = _renewals(spec, assessment, now, language)
    others = _other_deadlines(deadlines, spec, now, language)
    window = _vote_window(spec, assessment, language)

    moments = [now, *(f.occurred_at for f in facts), *(s.start for s in stages)]
    moments += [m.at for m in (*renewals, *notices, *others)]
    if window is not None:
        moments += [window.start, window.end]
    first, last = min(moments), max(moments)
    margin = max((last - first) * MARGIN, MIN_MARGIN)
    start, end = first - margin, last + margin
    stages = tuple(
        StageSpan(s.stage, s.label, s.start, end, s.derived, True) if s.current else s
        for s in stages
    )
    return ChartPlan(
        title=t(language, "chart.title", item=spec.name(language)),
        subtitle=t(language, "chart.subtitle", date=_date(language, now, tz)),
        language=language,
        timezone=tz.key,
        start=start,
        end=end,
        today=now,
        today_label=t(language, "chart.today", date=_date(language, now, tz)),
        stages=stages,
        events=markers,
        renewals=renewals,
        notices=notices,
        others=others,
        vote_window=window,
        lane_labels=(
            t(language, "chart.lane_stages"),
            t(language, "chart.lane_events"),
            t(language, "chart.lane_deadlines"),
        ),
        legend_labels=_legend(language, spec, renewals, notices, others, window),
    )


def _date(language: str, moment: datetime, tz: ZoneInfo) -> str:
    local = moment.astimezone(tz)
    return t(
        language,
        "date.format",
        year=local.year,
        month=local.month,
        day=local.day,
        month_name=t(language, f"date.month.{local.month}"),
    )


def _words(language: str, spec: ItemSpec, *parts: str) -> str:
    """The item's rule set's words (``rules.<name>.<parts>``), else the bare name."""
    key = spec.rules.words(*parts)
    return t(language, key) if has(key) else parts[-1]


def _stage_spans(
    spec: ItemSpec, facts: Sequence[EventFact], now: datetime, language: str
) -> tuple[StageSpan, ...]:
    """Each stage the rules read from the first event to ``now``, in order.

    The rules are asked at every recorded change and at each instant their last
    reading said it might change (``valid_until``): that is where they move an
    item on by themselves, such as a notice taking effect at a term end.
    """
    # Asked when each change starts to count: a date-only one once its day is over.
    staged = sorted({spec.rules.counts_from(f) for f in facts if f.stage is not None})
    entry = getattr(spec.rules.params, "entry_into_force", None)
    if isinstance(entry, date):
        # A configured entry into force is a change nobody records: ask once its day is over.
        staged = sorted({*staged, day_start(entry + timedelta(days=1), spec.timezone)})
    readings: list[tuple[str, datetime, bool, str]] = []
    at = staged[0] if staged else None
    steps = 0
    while at is not None and at <= now and steps < MAX_STEPS:
        steps += 1
        reading = spec.assess(facts, at)
        if reading.stage is not None and reading.since is not None:
            key = (reading.stage, reading.since)
            if not readings or (readings[-1][0], readings[-1][1]) != key:
                word = spec.rules.stage_word(reading) or reading.stage
                readings.append((reading.stage, reading.since, reading.derived, word))
        later = [s for s in staged if s > at]
        if reading.valid_until is not None:
            later.append(reading.valid_until if reading.valid_until > at else at + TICK)
        at = min(later, default=None)
    spans = []
    for i, (stage, since, derived, word) in enumerate(readings):
        last = i == len(readings) - 1
        spans.append(
            StageSpan(
                stage,
                _words(language, spec, "stage", word),
                since,
                now if last else readings[i + 1][1],
                derived,
                last,
            )
        )
    return tuple(spans)


def _renewals(
    spec: ItemSpec, assessment: Assessment, now: datetime, language: str
) -> tuple[tuple[DateMarker, ...], tuple[DateMarker, ...]]:
    """Every term end the agreement was renewed at, the next one, and their notice deadlines."""
    rules = spec.rules
    since = assessment.facts.get("in_force_since")
    if not isinstance(rules, AutoRenewingAgreement) or not isinstance(since, datetime):
        return (), ()
    anchor = local_date(since, spec.timezone)
    ended = assessment.facts.get("terminated_at")
    upcoming = assessment.facts.get("next_renewal")
    if isinstance(ended, datetime):
        horizon = ended
    elif isinstance(upcoming, datetime):
        horizon = upcoming
    else:
        horizon = now
    renewal_word = _words(language, spec, "deadline", "renewal")
    notice_word = _words(language, spec, "deadline", "notice_deadline")
    renewals: list[DateMarker] = []
    notices: list[DateMarker] = []
    k = 1
    while (end := rules.term_end(anchor, k)) <= horizon and k <= MAX_STEPS:
        k += 1
        if isinstance(ended, datetime) and end >= ended:
            break  # the term end that ended it renewed nothing
        notice = rules.notice_deadline(end)
        renewals.append(DateMarker(end, "renewal", renewal_word, end <= now))
        notices.append(DateMarker(notice, "notice_deadline", notice_word, notice <= now))
    # The notice deadline still ahead may govern a later renewal than the next one.
    for d in assessment.deadlines:
        if d.kind == "notice_deadline" and all(n.at != d.at for n in notices):
            notices.append(DateMarker(d.at, "notice_deadline", notice_word, d.at <= now))
            if d.effect_at is not None and all(r.at != d.effect_at for r in renewals):
                renewals.append(
                    DateMarker(d.effect_at, "renewal", renewal_word, d.effect_at <= now)
                )
    return (
        tuple(sorted(renewals, key=lambda m: m.at)),
        tuple(sorted(notices, key=lambda m: m.at)),
    )


def _other_deadlines(
    rows: Sequence[DeadlineRow], spec: ItemSpec, now: datetime, language: str
) -> tuple[DateMarker, ...]:
    """Deadlines ahead that are neither a renewal nor a notice deadline, nor the vote window."""
    out = []
    for row in rows:
        d = row.deadline
        if row.spec.key != spec.key or d.kind in _SHOWN_ELSEWHERE:
            continue
        key = spec.rules.words("deadline", d.kind)
        if not has(key):
            key = f"deadline.{d.kind}"
        label = row.title or (t(language, key) if has(key) else d.kind)
        out.append(DateMarker(ensure_utc(d.at), d.kind, label, d.at <= now))
    return tuple(sorted(out, key=lambda m: m.at))


_SHOWN_ELSEWHERE = frozenset({"renewal", "notice_deadline", "window_opens", "window_closes"})


def _vote_window(spec: ItemSpec, assessment: Assessment, language: str) -> Window | None:
    """Any rule set whose facts give a vote window (window_opens, window_closes) has one drawn."""
    opens = assessment.facts.get("window_opens")
    closes = assessment.facts.get("window_closes")
    if not isinstance(opens, datetime) or not isinstance(closes, datetime):
        return None
    if assessment.facts.get("window_approximate") is True:
        # Known only to within a day: draw every instant the window may cover.
        earliest = assessment.facts.get("window_earliest")
        latest = assessment.facts.get("window_latest")
        if isinstance(earliest, datetime) and isinstance(latest, datetime):
            return Window(earliest, latest, t(language, "approximate_window.chart_label"))
    return Window(opens, closes, t(language, "chart.vote_window"))


def _legend(
    language: str,
    spec: ItemSpec,
    renewals: Sequence[DateMarker],
    notices: Sequence[DateMarker],
    others: Sequence[DateMarker],
    window: Window | None,
) -> tuple[tuple[str, str], ...]:
    out: list[tuple[str, str]] = []
    if renewals:
        out.append(("renewal", _words(language, spec, "deadline", "renewal")))
    if notices:
        out.append(("notice_deadline", _words(language, spec, "deadline", "notice_deadline")))
    if others:
        out.append(("other", t(language, "chart.other_deadline")))
    if window is not None:
        out.append(("vote_window", window.label))
    out.append(("today", t(language, "chart.today_legend")))
    return tuple(out)
