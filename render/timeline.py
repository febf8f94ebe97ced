"""/timeline: an item's events oldest to newest, ten a page."""

from __future__ import annotations

from collections.abc import Sequence

from i18n import t
from render.common import COLOURS, DESCRIPTION_LIMIT, Embed, Reply, clip, event_time, link
from render.words import stage_name
from tracker.items import ItemSpec
from views.events import EventView
from views.paging import page_count

# Ten events must fit one 4,096-character description with room for dates and links.
SUMMARY_LIMIT = 280


def _event_line(language: str, spec: ItemSpec, event: EventView) -> str:
    summary = event.summary_ko if language == "ko" and event.summary_ko else event.summary_en
    when = event_time(language, event.occurred_at, event.precision, spec.timezone)
    parts = [f"`#{event.id}` **{when}**"]
    if event.stage:
        parts.append(f"→ *{stage_name(language, spec.rules, event.stage)}*")
    line = " ".join(parts) + f"\n{clip(summary, SUMMARY_LIMIT)}"
    if event.source_url:
        line += f" {link(clip(event.source_name or '', 80) or None, event.source_url)}"
    if event.recorded_by:
        line += " " + t(language, "timeline.recorded_by", user=f"<@{event.recorded_by}>")
    if event.revision > 1:
        line += " " + t(language, "timeline.edited", revision=event.revision)
    return line


def render_timeline(
    language: str, spec: ItemSpec, events: Sequence[EventView], *, page: int, total: int
) -> Reply:
    pages = page_count(total)
    if events:
        description = "\n\n".join(_event_line(language, spec, e) for e in events)
    else:
        description = t(language, "timeline.empty")
    embed: Embed = {
        "title": t(language, "timeline.title", item=spec.name(language)),
        "description": clip(description, DESCRIPTION_LIMIT),
        "color": COLOURS["info"],
        "footer": {"text": t(language, "timeline.footer", page=page, pages=pages, total=total)},
    }
    return Reply(embeds=[embed], page=page, pages=pages)
