"""``python bot.py --check``: migrate, load, validate, and print each item's state."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url

from config.settings import Settings
from config.tracker import TrackerConfig
from render.common import end_of_previous_day, plain_date
from render.words import MomentWriter, deadline_name, stage_words, status_words
from runtime.startup import prepare_database
from services.readcache import ReadCache
from services.tracking import item_status
from storage.engine import backend_label, create_engine, session_factory
from tracker.model import Moment
from views.status import ItemStatus

LANGUAGE = "en"


def _at(value: datetime, tz: ZoneInfo) -> str:
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def _since(since: datetime | None, tz: ZoneInfo) -> str:
    if since is None:
        return ""
    local = since.astimezone(tz)
    # Day-precision events sit at local midnight: show them as the plain date.
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return f" since {local:%Y-%m-%d}"
    return f" since {_at(since, tz)}"


def _moment(tz: ZoneInfo) -> MomentWriter:
    def write(m: Moment) -> str:
        if m.style == "day":
            return plain_date(LANGUAGE, m.at, tz)
        if m.style == "by_end_of":
            return end_of_previous_day(LANGUAGE, m.at, tz)
        return _at(m.at, tz)

    return write


def _deadline(status: ItemStatus) -> str:
    deadline = status.assessment.next_deadline
    if deadline is None:
        return "none"
    name = deadline_name(LANGUAGE, deadline, status.spec.rules)
    return f"{name} {_at(deadline.at, status.spec.timezone)}"


def describe(status: ItemStatus) -> list[str]:
    """An item's state in the words /status uses (English), times in the item's zone."""
    spec, a = status.spec, status.assessment
    tz = spec.timezone
    stage = stage_words(LANGUAGE, spec.rules, a)
    lines = [f"{spec.key}: {spec.name_en}", f"  stage: {stage}{_since(a.since, tz)}"]
    for _, label, text, note in status_words(LANGUAGE, spec.rules, a, _moment(tz)):
        lines.append(f"  {label}: {text}" + (f" ({note})" if note else ""))
    lines.append(f"  next deadline: {_deadline(status)}")
    return lines


async def run_check(settings: Settings, tracker: TrackerConfig, *, now: datetime) -> list[str]:
    engine = create_engine(settings.database_url)
    try:
        sessions = session_factory(engine)
        prepared = await prepare_database(engine, sessions, items=tracker.items)
        url = make_url(settings.database_url).render_as_string(hide_password=True)
        out = [
            f"database: {url} ({backend_label(engine)}), schema up to date",
            f"config: {tracker.path}: {len(tracker.items)} items, "
            f"{sum(len(i.seed) for i in tracker.items)} seed events "
            f"({prepared.seeded} added now)",
            f"at: {now.astimezone(UTC):%Y-%m-%d %H:%M} UTC",
            "",
        ]
        # Through the reads /status makes, so that the two never disagree.
        reads = ReadCache(sessions)
        for spec in tracker.items:
            status = await item_status(
                reads, spec=spec, item_id=prepared.item_ids[spec.key], guild_id=None, now=now
            )
            out.extend(describe(status))
        return out
    finally:
        await engine.dispose()
