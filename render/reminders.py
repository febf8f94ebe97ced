"""A reminder as posted: what is coming, when, what it decides, and whether it is late."""

from __future__ import annotations

from i18n import t
from render.common import COLOURS, TITLE_LIMIT, Embed, Reply, clip, moment_text
from render.deadlines import meaning
from render.words import deadline_name
from tracker.items import ItemSpec
from tracker.offsets import format_offset
from tracker.reminders import Due
from views.deadlines import DeadlineRow


def render_reminder(
    language: str, spec: ItemSpec, due: Due, *, late: bool, ping_role_id: int | None
) -> Reply:
    target = due.target
    name = target.title or deadline_name(language, target.deadline, spec.rules)
    lines = [
        moment_text(target.deadline.at),
        meaning(language, DeadlineRow(spec, target.deadline, target.title)),
    ]
    if late:
        lines.append(t(language, "reminder.late"))
    embed: Embed = {
        "title": clip(
            t(
                language,
                "reminder.title",
                deadline=name,
                item=spec.name(language),
                offset=format_offset(due.offset),
            ),
            TITLE_LIMIT,
        ),
        "description": "\n".join(lines),
        "color": COLOURS["warn"],
        # The delivery's key, where a restart can find it again in the channel: the one
        # way to tell, once Discord has forgotten the nonce, whether it was posted.
        "footer": {"text": t(language, "reminder.footer", key=due.nonce)},
    }
    content = f"<@&{ping_role_id}>" if ping_role_id else None
    return Reply(content=content, embeds=[embed])
