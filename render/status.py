"""/status: an item's stage, since when, next deadline, rule facts and latest update."""

from __future__ import annotations

from datetime import datetime

from i18n import t
from render.common import (
    COLOURS,
    FIELD_VALUE_LIMIT,
    Embed,
    Reply,
    clip,
    end_of_previous_day,
    event_time,
    is_day_start,
    link,
    moment_text,
    plain_date,
    stamp,
)
from render.words import deadline_name, stage_colour, stage_words
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
    line = f"**{stage_words(language, status.spec.kind, a)}**{_since(language, status)}"
    if a.derived and a.stage is not None and not a.facts.get("deemed_discarded"):
        line += "\n" + t(language, "status.derived")
    return line


def _agreement_fields(language: str, status: ItemStatus) -> list[Embed]:
    facts, tz = status.assessment.facts, status.spec.timezone
    fields = [
        {
            "name": t(language, "status.extensions"),
            "value": t(language, "status.extensions_value", count=facts.get("extensions", 0)),
            "inline": True,
        }
    ]
    renewal, notice = facts.get("next_renewal"), facts.get("notice_deadline")
    if isinstance(renewal, datetime):
        fields.append(
            {
                "name": t(language, "status.next_renewal"),
                "value": moment_text(renewal),
                "inline": True,
            }
        )
    if isinstance(notice, datetime):
        value = f"{end_of_previous_day(language, notice, tz)}\n{moment_text(notice)}"
        fields.append(
            {"name": t(language, "status.notice_deadline"), "value": value, "inline": False}
        )
    ends = facts.get("ends_at")
    if isinstance(ends, datetime):
        fields.append(
            {
                "name": t(language, "status.ends"),
                "value": f"{moment_text(ends)}\n{t(language, 'status.ends_unless')}",
                "inline": False,
            }
        )
    if facts.get("revivable"):
        fields.append(
            {
                "name": t(language, "status.revivable"),
                "value": t(language, "status.revivable_value"),
                "inline": False,
            }
        )
    ended = facts.get("terminated_at")
    if isinstance(ended, datetime):
        fields.append(
            {"name": t(language, "status.terminated"), "value": moment_text(ended), "inline": False}
        )
    return fields


def _motion_fields(language: str, status: ItemStatus) -> list[Embed]:
    facts = status.assessment.facts
    fields = [
        {
            "name": t(language, "status.thresholds"),
            "value": t(
                language,
                "status.thresholds_value",
                propose=facts["proposal_threshold"],
                passing=facts["passage_threshold"],
                seats=facts["seats"],
            ),
            "inline": False,
        }
    ]
    opens, closes = facts.get("window_opens"), facts.get("window_closes")
    if isinstance(opens, datetime) and isinstance(closes, datetime):
        fields.append(
            {
                "name": t(language, "status.vote_window"),
                "value": t(
                    language,
                    "status.vote_window_value",
                    opens=stamp(opens, "F"),
                    closes=stamp(closes, "F"),
                    countdown=stamp(closes, "R"),
                ),
                "inline": False,
            }
        )
    if facts.get("deemed_discarded"):
        fields.append(
            {
                "name": t(language, "status.deemed"),
                "value": t(language, "status.deemed_value"),
                "inline": False,
            }
        )
    return fields


def _next_deadline(language: str, status: ItemStatus) -> Embed:
    deadline = status.assessment.next_deadline
    value = (
        f"{deadline_name(language, deadline)}: {moment_text(deadline.at)}"
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
    fields = (
        _agreement_fields(language, status)
        if spec.kind == "agreement"
        else _motion_fields(language, status)
    )
    fields.append(_next_deadline(language, status))
    latest = _latest(language, status)
    if latest:
        fields.append(latest)
    return {
        "title": spec.name(language),
        "description": _stage_line(language, status),
        "color": COLOURS[stage_colour(spec.kind, status.assessment)],
        "fields": fields,
        "footer": {"text": t(language, "status.footer", key=spec.key, events=status.event_count)},
    }


def _overview_line(language: str, status: ItemStatus) -> str:
    deadline = status.assessment.next_deadline
    text = f"{stage_words(language, status.spec.kind, status.assessment)}{_since(language, status)}"
    if deadline:
        text += f"\n{deadline_name(language, deadline)}: {moment_text(deadline.at)}"
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
