"""Database rows as the view data render takes (views/): the one place rows become views.

Views are frozen and detached from any session, so the read caches can keep and share
them without a later write through an ORM object changing what a cached answer shows.
"""

from __future__ import annotations

from storage.models import GuildSettings, NewsEntry, NewsPost, NewsSource, TimelineEvent
from views.events import EventView
from views.export import ExportedEvent
from views.news import NewsEntryView, NewsPostView, NewsSourceView
from views.settings import GuildSettingsView


def event_view(row: TimelineEvent) -> EventView:
    return EventView(
        id=row.id or 0,
        occurred_at=row.occurred_at,
        precision=row.precision,
        summary_en=row.summary_en,
        summary_ko=row.summary_ko,
        stage=row.stage,
        source_name=row.source_name,
        source_url=row.source_url,
        recorded_by=row.recorded_by,
        revision=row.revision,
        delete_reason=row.delete_reason,
    )


def exported_event(row: TimelineEvent, item_key: str) -> ExportedEvent:
    return ExportedEvent(
        id=row.id or 0,
        item_key=item_key,
        guild_id=row.guild_id,
        occurred_at=row.occurred_at,
        precision=row.precision,
        stage=row.stage,
        summary_en=row.summary_en,
        summary_ko=row.summary_ko,
        source_name=row.source_name,
        source_url=row.source_url,
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
        revision=row.revision,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def settings_view(row: GuildSettings) -> GuildSettingsView:
    return GuildSettingsView(
        news_channel_id=row.news_channel_id,
        reminders_channel_id=row.reminders_channel_id,
        updates_channel_id=row.updates_channel_id,
        moderator_role_id=row.moderator_role_id,
        ping_role_id=row.ping_role_id,
        reminder_offsets=row.reminder_offsets,
        language=row.language,
    )


def news_entry_view(row: NewsEntry) -> NewsEntryView:
    return NewsEntryView(
        title=row.title, url=row.url, summary=row.summary, published_at=row.published_at
    )


def news_post_view(row: NewsPost) -> NewsPostView:
    return NewsPostView(id=row.id or 0, outlets=tuple(row.outlets))


def news_source_view(row: NewsSource) -> NewsSourceView:
    return NewsSourceView(
        id=row.id or 0,
        name=row.name,
        from_config=row.from_config,
        enabled=row.enabled,
        consecutive_failures=row.consecutive_failures,
        last_error=row.last_error,
        last_success_at=row.last_success_at,
        next_poll_at=row.next_poll_at,
    )
