"""/deadlines: what is coming, soonest first, what each decides, and the reminders to come."""

from __future__ import annotations

from datetime import datetime, timedelta

from i18n import t
from render.common import COLOURS, Embed, Reply, clip, moment_text, plain_date
from render.words import deadline_meaning, deadline_name
from tracker.offsets import format_offset

# Re-exported: render/reminders.py takes it from here.
from views.deadlines import DeadlineRow

FIELDS_LIMIT = 25


def reminders_to_come(
    deadline_at: datetime, offsets: list[timedelta], now: datetime
) -> list[timedelta]:
    return [o for o in offsets if deadline_at - o > now]


def meaning(language: str, row: DeadlineRow) -> str:
    d, spec = row.deadline, row.spec
    name = spec.name(language)
    if d.kind == "custom":
        return t(language, "deadlines.meaning.custom", id=row.custom_id or "?")
    # What the deadline decides about, for a rule set's words that name it ({renewal}).
    effect = plain_date(language, d.effect_at, spec.timezone) if d.effect_at else ""
    return deadline_meaning(language, d, spec.rules, item=name, renewal=effect)


def render_deadlines(
    language: str,
    rows: list[DeadlineRow],
    *,
    offsets: list[timedelta],
    reminders_on: bool,
    now: datetime,
) -> Reply:
    rows = sorted(rows, key=lambda r: r.deadline.at)
    embed: Embed = {"title": t(language, "deadlines.title"), "color": COLOURS["info"], "fields": []}
    if not rows:
        embed["description"] = t(language, "deadlines.none")
        return Reply(embeds=[embed])
    for row in rows[:FIELDS_LIMIT]:
        title = row.title or deadline_name(language, row.deadline, row.spec.rules)
        lines = [moment_text(row.deadline.at), meaning(language, row)]
        if reminders_on:
            coming = reminders_to_come(row.deadline.at, offsets, now)
            lines.append(
                t(
                    language,
                    "deadlines.reminders",
                    offsets=", ".join(format_offset(o) for o in coming),
                )
                if coming
                else t(language, "deadlines.no_reminders_left")
            )
        embed["fields"].append(
            {
                "name": clip(f"{title} · {row.spec.name(language)}", 256),
                "value": clip("\n".join(lines), 1024),
            }
        )
    footer = (
        t(language, "deadlines.footer_on") if reminders_on else t(language, "deadlines.footer_off")
    )
    if len(rows) > FIELDS_LIMIT:
        footer = t(language, "deadlines.more", count=len(rows) - FIELDS_LIMIT) + " · " + footer
    embed["footer"] = {"text": footer}
    return Reply(embeds=[embed])
