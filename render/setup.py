"""/setup show: the guild's settings, as an administrator reads them."""

from __future__ import annotations

from i18n import t
from render.common import COLOURS, Embed, Reply
from tracker.offsets import DEFAULT_OFFSETS
from views.settings import GuildSettingsView


def _channel(language: str, channel_id: int | None) -> str:
    return f"<#{channel_id}>" if channel_id else t(language, "setup.not_set")


def _role(language: str, role_id: int | None) -> str:
    return f"<@&{role_id}>" if role_id else t(language, "setup.not_set")


def render_settings(language: str, row: GuildSettingsView | None) -> Reply:
    row = row or GuildSettingsView()
    fields = [
        {
            "name": t(language, "setup.show_news"),
            "value": _channel(language, row.news_channel_id),
            "inline": True,
        },
        {
            "name": t(language, "setup.show_reminders"),
            "value": _channel(language, row.reminders_channel_id),
            "inline": True,
        },
        {
            "name": t(language, "setup.show_updates"),
            "value": _channel(language, row.updates_channel_id),
            "inline": True,
        },
        {
            "name": t(language, "setup.show_moderator"),
            "value": _role(language, row.moderator_role_id),
            "inline": True,
        },
        {
            "name": t(language, "setup.show_ping"),
            "value": _role(language, row.ping_role_id),
            "inline": True,
        },
        {
            "name": t(language, "setup.show_offsets"),
            "value": row.reminder_offsets or DEFAULT_OFFSETS,
            "inline": True,
        },
        {
            "name": t(language, "setup.show_language"),
            "value": t(language, f"choice.language.{row.language}")
            if row.language
            else t(language, "setup.language_auto"),
            "inline": True,
        },
    ]
    embed: Embed = {
        "title": t(language, "setup.show_title"),
        "color": COLOURS["info"],
        "fields": fields,
    }
    return Reply(embeds=[embed])
