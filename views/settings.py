"""A guild's settings as read: where the bot speaks, who moderates, when it reminds."""

from __future__ import annotations

from dataclasses import dataclass

from tracker.offsets import DEFAULT_OFFSETS


@dataclass(frozen=True, slots=True)
class GuildSettingsView:
    """The defaults are a guild's before its administrators set anything."""

    news_channel_id: int | None = None
    reminders_channel_id: int | None = None
    updates_channel_id: int | None = None
    moderator_role_id: int | None = None
    ping_role_id: int | None = None
    reminder_offsets: str = DEFAULT_OFFSETS
    language: str | None = None
