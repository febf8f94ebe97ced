"""What each web page shows, as plain data: words chosen, dates written out, nothing escaped yet.

The templates only lay this out (autoescaped); every decision about what to show is here,
mirroring /status (render/status.py) so that the page and the command never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from i18n import DEFAULT, LANGUAGES, t
from render.common import clip, end_of_previous_day, is_day_start, plain_date
from render.words import (
    MomentWriter,
    deadline_name,
    shows_derived,
    stage_colour,
    stage_name,
    stage_words,
    status_words,
)
from services.context import Services
from services.reading import statuses
from tracker.items import ItemSpec
from tracker.model import Moment
from views.events import EventView
from views.status import ItemStatus

# Bounds on what outside text can make of a page; the store holds the full text.
SUMMARY_LIMIT = 2000
SOURCE_NAME_LIMIT = 200
URL_LIMIT = 2048
KEY_SHOWN_LIMIT = 100


def choose_language(query: str | None, accept_language: str | None) -> str:
    """``?lang=`` when it names a language we have, else the browser's best, else English."""
    if query and query.strip().lower() in LANGUAGES:
        return query.strip().lower()
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate((accept_language or "")[:1000].split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        primary = tag.strip().split("-")[0].lower()
        if primary in LANGUAGES and weight > 0:
            ranked.append((-weight, index, primary))
    return min(ranked)[2] if ranked else DEFAULT


def moment_words(moment: datetime, tz: ZoneInfo) -> str:
    """A moment in the item's zone, with UTC beside it: no reader's zone is known here."""
    local, utc = moment.astimezone(tz), moment.astimezone(UTC)
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({utc:%Y-%m-%d %H:%M} UTC)"


def event_words(language: str, moment: datetime, precision: str, tz: ZoneInfo) -> str:
    if precision == "date":
        return plain_date(language, moment, tz)
    return moment_words(moment, tz)


def safe_link(url: str | None) -> str | None:
    """Only http(s) addresses become links: a ``javascript:`` URL escaped is still a script."""
    if not url or len(url) > URL_LIMIT:
        return None
    try:
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    return url if scheme in {"http", "https"} else None


@dataclass(frozen=True, slots=True)
class Fact:
    label: str
    value: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class EventRow:
    when: str
    summary: str
    stage: str | None
    source_name: str | None
    source_url: str | None


@dataclass(frozen=True, slots=True)
class ItemSummary:
    key: str
    name: str
    stage: str
    since: str
    colour: str
    next_deadline: str


@dataclass(frozen=True, slots=True)
class Page:
    language: str
    other_language: str
    title: str
    words: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class IndexPage(Page):
    items: tuple[ItemSummary, ...] = ()


@dataclass(frozen=True, slots=True)
class ItemPage(Page):
    item: ItemSummary | None = None
    derived: bool = False
    facts: tuple[Fact, ...] = ()
    events: tuple[EventRow, ...] = ()
    event_count: int = 0
    zone: str = ""
    chart_src: str = ""
    chart_alt: str = ""


def _other(language: str) -> str:
    return "ko" if language == "en" else "en"


def _words(language: str, *keys: str) -> dict[str, str]:
    common = ("web.site", "web.all_items", "web.other_language", "web.footer")
    return {key.removeprefix("web."): t(language, key) for key in (*common, *keys)}


def _since(language: str, status: ItemStatus) -> str:
    since, tz = status.assessment.since, status.spec.timezone
    if since is None:
        return ""
    if is_day_start(since, tz):
        return t(language, "status.since_date", date=plain_date(language, since, tz)).strip()
    return t(language, "status.since_time", time=moment_words(since, tz)).strip()


def _next_deadline(language: str, status: ItemStatus) -> str:
    deadline = status.assessment.next_deadline
    if deadline is None:
        return t(language, "status.no_deadline")
    name = deadline_name(language, deadline, status.spec.rules)
    return f"{name}: {moment_words(deadline.at, status.spec.timezone)}"


def summarize(language: str, status: ItemStatus) -> ItemSummary:
    spec = status.spec
    return ItemSummary(
        key=spec.key,
        name=spec.name(language),
        stage=stage_words(language, spec.rules, status.assessment),
        since=_since(language, status),
        colour=stage_colour(spec.rules, status.assessment),
        next_deadline=_next_deadline(language, status),
    )


def web_moment(language: str, tz: ZoneInfo) -> MomentWriter:
    """How a page writes a status line's moment: in the item's zone with UTC beside it."""

    def write(m: Moment) -> str:
        if m.style == "day":
            return plain_date(language, m.at, tz)
        if m.style == "by_end_of":
            return end_of_previous_day(language, m.at, tz)
        return moment_words(m.at, tz)

    return write


def _rule_facts(language: str, status: ItemStatus) -> list[Fact]:
    """The facts the item's rule set shows after its stage, as /status shows them."""
    write = web_moment(language, status.spec.timezone)
    return [
        Fact(label, text, note)
        for _, label, text, note in status_words(
            language, status.spec.rules, status.assessment, write
        )
    ]


def event_row(language: str, spec: ItemSpec, event: EventView) -> EventRow:
    summary = event.summary_ko if language == "ko" and event.summary_ko else event.summary_en
    url = safe_link(event.source_url)
    name = event.source_name or (event.source_url if event.source_url else None)
    return EventRow(
        when=event_words(language, event.occurred_at, event.precision, spec.timezone),
        summary=clip(summary, SUMMARY_LIMIT),
        stage=stage_name(language, spec.rules, event.stage) if event.stage else None,
        source_name=clip(name, SOURCE_NAME_LIMIT) if name else None,
        source_url=url,
    )


async def index_page(services: Services, *, language: str, now: datetime) -> IndexPage:
    # guild_id=None: the shared history only; a guild's own events stay behind its secret link.
    found = await statuses(services, guild_id=None, item=None, now=now)
    return IndexPage(
        language=language,
        other_language=_other(language),
        title=t(language, "web.index_title"),
        words=_words(language, "web.index_intro", "web.stage", "web.next_deadline", "web.none"),
        items=tuple(summarize(language, s) for s in found),
    )


@dataclass(frozen=True, slots=True)
class ItemInputs:
    """What an item page is made of: the shared status and the whole shared timeline."""

    status: ItemStatus
    events: tuple[EventView, ...]

    @property
    def basis(self) -> tuple[object, ...]:
        """The read cache's own objects: while they are the same, so is the page."""
        return (self.status.assessment, self.events)


async def item_inputs(services: Services, *, spec: ItemSpec, now: datetime) -> ItemInputs:
    # guild_id=None: the shared history only; a guild's own events stay behind its secret link.
    (status,) = await statuses(services, guild_id=None, item=spec, now=now)
    events: tuple[EventView, ...] = ()
    if status.event_count:
        # The whole shared history, oldest first, in one read the cache keeps.
        events = await services.reads.page(
            item_id=services.item_ids[spec.key],
            guild_id=None,
            page=1,
            per_page=status.event_count,
        )
    return ItemInputs(status, events)


def item_page(inputs: ItemInputs, *, language: str) -> ItemPage:
    status, spec = inputs.status, inputs.status.spec
    a = status.assessment
    facts = _rule_facts(language, status)
    facts.append(Fact(t(language, "status.next_deadline"), _next_deadline(language, status)))
    return ItemPage(
        language=language,
        other_language=_other(language),
        title=spec.name(language),
        words=_words(
            language,
            "web.stage",
            "web.timeline",
            "web.derived",
            "web.source",
            "web.empty",
            "web.chart",
        )
        | {"events": t(language, "web.events", count=status.event_count)},
        item=summarize(language, status),
        derived=shows_derived(spec.rules, a),
        facts=tuple(facts),
        events=tuple(event_row(language, spec, e) for e in inputs.events),
        event_count=status.event_count,
        zone=t(language, "web.zone", zone=str(spec.timezone)),
        chart_src=f"/items/{spec.key}/chart.svg?lang={language}",
        chart_alt=t(language, "web.chart_alt", item=spec.name(language)),
    )


def not_found_page(language: str, key: str) -> Page:
    return Page(
        language=language,
        other_language=_other(language),
        title=t(language, "web.not_found_title"),
        words=_words(language)
        | {"message": t(language, "web.not_found", key=clip(key, KEY_SHOWN_LIMIT))},
    )
