"""Announcements in a guild's updates channel: a new update, an edit, a removal, and what moved."""

from __future__ import annotations

from i18n import t
from render.common import (
    COLOURS,
    FIELD_VALUE_LIMIT,
    Embed,
    Reply,
    clip,
    event_time,
    link,
    moment_text,
)
from render.words import Rules, deadline_name, stage_name
from views.changes import OFFICIAL_ACTOR_ID, Change

SUMMARY_LIMIT = 1500


def _stage(language: str, rules: Rules, stage: str | None) -> str:
    return stage_name(language, rules, stage) if stage else t(language, "stage.none")


def render_change(language: str, change: Change, *, announcement_id: int | None = None) -> Reply:
    """``announcement_id``: the stored announcement this is the post of, named in the footer."""
    spec, event = change.spec, change.event
    when = event_time(language, event.occurred_at, event.precision, spec.timezone)
    lines = [f"`#{event.id}` **{when}**", clip(event.summary_en, SUMMARY_LIMIT)]
    if event.source_url:
        lines.append(f"{t(language, 'status.source')}: {link(event.source_name, event.source_url)}")
    if change.actor_id == OFFICIAL_ACTOR_ID:
        lines.append(t(language, "official.by_official"))
    else:
        lines.append(t(language, f"announce.by_{change.action}", user=f"<@{change.actor_id}>"))
    if change.action == "removed" and event.delete_reason:
        lines.append(t(language, "announce.reason", reason=clip(event.delete_reason, 500)))
    fields: list[Embed] = []
    if change.changed_fields:
        names = ", ".join(t(language, f"announce.field.{f}") for f in change.changed_fields)
        fields.append({"name": t(language, "announce.changed"), "value": names})
    stage_change = change.stage_change
    if stage_change:
        old, new = stage_change
        words = f"{_stage(language, spec.rules, old)} → **{_stage(language, spec.rules, new)}**"
        fields.append({"name": t(language, "announce.stage"), "value": words})
    moved = [
        t(
            language,
            "announce.moved_line",
            deadline=deadline_name(language, new, spec.rules),
            old=moment_text(old.at),
            new=moment_text(new.at),
        )
        for old, new in change.moved
    ]
    moved += [
        t(
            language,
            "announce.new_line",
            deadline=deadline_name(language, d, spec.rules),
            at=moment_text(d.at),
        )
        for d in change.appeared
    ]
    moved += [
        t(
            language,
            "announce.gone_line",
            deadline=deadline_name(language, d, spec.rules),
            at=moment_text(d.at),
        )
        for d in change.gone
    ]
    if moved:
        fields.append(
            {
                "name": t(language, "announce.deadlines"),
                "value": clip("\n".join(moved), FIELD_VALUE_LIMIT),
            }
        )
    embed: Embed = {
        "title": t(language, f"announce.title_{change.action}", item=spec.name(language)),
        "description": "\n".join(lines),
        "color": COLOURS["warn" if stage_change or moved else "info"],
        "fields": fields,
    }
    if announcement_id is not None:
        # The delivery's key, where a restart can find it again in the channel: the one
        # way to tell, once Discord has forgotten the nonce, whether it was posted.
        embed["footer"] = {"text": announcement_footer(language, announcement_id)}
    return Reply(embeds=[embed])


def announcement_footer(language: str, announcement_id: int) -> str:
    return t(language, "announce.footer", id=announcement_id)
