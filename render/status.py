"""/status: an item's stage, since when, next deadline, rule facts and latest update."""

from __future__ import annotations

from i18n import t
from render.common import (
    COLOURS,
    FIELD_VALUE_LIMIT,
    Embed,
    Reply,
    clip,
    discord_moment,
    event_time,
    is_day_start,
    link,
    moment_text,
    plain_date,
    stamp,
)
from render.words import deadline_name, shows_derived, stage_colour, stage_words, status_words
from views.status import ItemStatus

LATEST_SUMMARY_LIMIT = 400
# Up to this many items get a full embed each; more get one line each.
FULL_EMBEDS_UP_TO = 3
OVERVIEW_FIELDS = 25


def _since(language: str, status: ItemStatus) -> str:
    since = status.assessment.since
    if since is None:
        return ""
    tz = status.spec.timezone
    if is_day_start(since, tz):
        return t(language, "status.since_date", date=plain_date(language, since, tz))
    return t(language, "status.since_time", time=stamp(since, "f"))


def _stage_line(language: str, status: ItemStatus) -> str:
    a = status.assessment
    rules = status.spec.rules
    line = f"**{stage_words(language, rules, a)}**{_since(language, status)}"
    if shows_derived(rules, a):
        line += "\n" + t(language, "status.derived")
    return line


def _rule_fields(language: str, status: ItemStatus) -> list[Embed]:
    """The facts the item's rule set shows after its stage, in its own words."""
    rules = status.spec.rules
    write = discord_moment(language, status.spec.timezone)
    return [
        {
            "name": label,
            "value": clip(f"{text}\n{note}" if note else text, FIELD_VALUE_LIMIT),
            "inline": line.inline,
        }
        for line, label, text, note in status_words(language, rules, status.assessment, write)
    ]


def _next_deadline(language: str, status: ItemStatus) -> Embed:
    deadline = status.assessment.next_deadline
    value = (
        f"{deadline_name(language, deadline, status.spec.rules)}: {moment_text(deadline.at)}"
        if deadline
        else t(language, "status.no_deadline")
    )
    return {"name": t(language, "status.next_deadline"), "value": value, "inline": False}


def _latest(language: str, status: ItemStatus) -> Embed | None:
    event = status.latest
    if event is None:
        return None
    summary = event.summary_ko if language == "ko" and event.summary_ko else event.summary_en
    when = event_time(language, event.occurred_at, event.precision, status.spec.timezone)
    value = f"{when}: {clip(summary, LATEST_SUMMARY_LIMIT)}"
    if event.source_url:
        value += f"\n{t(language, 'status.source')}: {link(event.source_name, event.source_url)}"
    elif event.recorded_by:
        value += "\n" + t(language, "timeline.recorded_by", user=f"<@{event.recorded_by}>")
    return {
        "name": t(language, "status.latest"),
        "value": clip(value, FIELD_VALUE_LIMIT),
        "inline": False,
    }


def status_embed(language: str, status: ItemStatus) -> Embed:
    spec = status.spec
    fields = _rule_fields(language, status)
    fields.append(_next_deadline(language, status))
    latest = _latest(language, status)
    if latest:
        fields.append(latest)
    return {
        "title": spec.name(language),
        "description": _stage_line(language, status),
        "color": COLOURS[stage_colour(spec.rules, status.assessment)],
        "fields": fields,
        "footer": {"text": t(language, "status.footer", key=spec.key, events=status.event_count)},
    }


def _overview_line(language: str, status: ItemStatus) -> str:
    deadline = status.assessment.next_deadline
    rules = status.spec.rules
    text = f"{stage_words(language, rules, status.assessment)}{_since(language, status)}"
    if deadline:
        text += f"\n{deadline_name(language, deadline, rules)}: {moment_text(deadline.at)}"
    return text


def render_status(language: str, statuses: list[ItemStatus]) -> Reply:
    if not statuses:
        return Reply(content=t(language, "status.no_items"))
    if len(statuses) <= FULL_EMBEDS_UP_TO:
        return Reply(embeds=[status_embed(language, s) for s in statuses])
    shown = statuses[:OVERVIEW_FIELDS]
    embed: Embed = {
        "title": t(language, "status.overview_title", count=len(statuses)),
        "color": COLOURS["info"],
        "fields": [
            {
                "name": f"{s.spec.name(language)} (`{s.spec.key}`)",
                "value": _overview_line(language, s),
            }
            for s in shown
        ],
    }
    if len(statuses) > len(shown):
        embed["footer"] = {
            "text": t(language, "status.more_items", count=len(statuses) - len(shown))
        }
    return Reply(embeds=[embed])
