"""``python bot.py --check``: migrate, load, validate, and print each item's state."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.engine import make_url

from config.settings import Settings
from config.tracker import TrackerConfig
from runtime.startup import prepare_database
from services.readcache import ReadCache
from services.tracking import item_status
from storage.engine import backend_label, create_engine, session_factory
from tracker.model import Deadline
from views.status import ItemStatus

STAGE_WORDS = {
    "in_force": "in force",
    "termination_notified": "termination notified",
    "notice_suspended": "termination notice suspended (in force; termination can be revived)",
    "notice_withdrawn": "termination notice withdrawn (back in force)",
}
DEADLINE_WORDS = {
    "notice_deadline": "notice deadline",
    "renewal": "renewal",
    "termination": "termination",
    "window_opens": "vote window opens",
    "window_closes": "vote window closes",
}


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


def _deadline(deadline: Deadline | None, tz: ZoneInfo) -> str:
    if deadline is None:
        return "none"
    return f"{DEADLINE_WORDS.get(deadline.kind, deadline.kind)} {_at(deadline.at, tz)}"


def describe(status: ItemStatus) -> list[str]:
    spec, a = status.spec, status.assessment
    tz = spec.timezone
    stage = STAGE_WORDS.get(a.stage or "", a.stage or "no stage recorded")
    if a.facts.get("deemed_discarded"):
        stage = "discarded (deemed: no vote within the window)"
    lines = [f"{spec.key}: {spec.name_en}", f"  stage: {stage}{_since(a.since, tz)}"]
    facts = a.facts
    if "extensions" in facts:
        parts = [f"extended {facts['extensions']} times"]
        renewal, notice = facts.get("next_renewal"), facts.get("notice_deadline")
        if isinstance(renewal, datetime) and isinstance(notice, datetime):
            parts.append(f"next renewal {_at(renewal, tz)}")
            parts.append(f"notice deadline {_at(notice, tz)}")
        ends = facts.get("ends_at")
        if isinstance(ends, datetime):
            parts.append(f"ends {_at(ends, tz)} unless the notice is suspended or withdrawn")
        lines.append("  " + "; ".join(parts))
    if "passage_threshold" in facts:
        seats = facts["seats"]
        lines.append(
            f"  thresholds: {facts['proposal_threshold']} of {seats} to propose, "
            f"{facts['passage_threshold']} of {seats} to pass"
        )
        opens, closes = facts.get("window_opens"), facts.get("window_closes")
        if isinstance(opens, datetime) and isinstance(closes, datetime):
            lines.append(f"  vote window: after {_at(opens, tz)}, until {_at(closes, tz)}")
    lines.append(f"  next deadline: {_deadline(a.next_deadline, tz)}")
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
