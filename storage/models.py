"""The tables. Discord ids are BIGINT; every datetime is UTC and tz-aware (UTCDateTime)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


class Item(SQLModel, table=True):
    """A tracked item.

    A configured item (``guild_id`` None): configuration is the truth, this row anchors
    the foreign keys. A guild's own item (``/track motion``): this row is the truth, and
    it is seen only in that guild; hiding it (``/track stop``) keeps the row.
    """

    __tablename__ = "item"
    __table_args__ = (
        Index("ix_item_guild", "guild_id"),
        Index("ix_item_bill_no", "bill_no"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # Unique across the table, guild items included: one id per key in every process.
    key: str = Field(max_length=32, unique=True)
    kind: str = Field(max_length=16)
    rule_set: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    guild_id: int | None = Field(default=None, sa_type=BigInteger)
    name_en: str | None = Field(default=None, max_length=100)
    name_ko: str | None = Field(default=None, max_length=100)
    bill_no: str | None = Field(default=None, max_length=32)
    keywords: list[str] | None = Field(default=None, sa_type=JSON)
    created_by: int | None = Field(default=None, sa_type=BigInteger)
    hidden_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    hidden_by: int | None = Field(default=None, sa_type=BigInteger)


class TimelineEvent(SQLModel, table=True):
    """Something that happened to an item. Never hard-deleted: removal sets ``deleted_at``."""

    __tablename__ = "timeline_event"
    __table_args__ = (
        # A page of an item's timeline: events of one item (and guild), oldest first.
        Index("ix_timeline_event_page", "item_id", "occurred_at", "id"),
        Index("ix_timeline_event_guild", "guild_id", "item_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    item_id: int = Field(foreign_key="item.id")
    # None: shared by every guild (seed history); otherwise the guild it was recorded in.
    guild_id: int | None = Field(default=None, sa_type=BigInteger)
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    precision: str = Field(max_length=8)
    summary_en: str = Field(max_length=1000)
    summary_ko: str | None = Field(default=None, max_length=1000)
    stage: str | None = Field(default=None, max_length=32)
    source_name: str | None = Field(default=None, max_length=200)
    source_url: str | None = Field(default=None, max_length=2000)
    recorded_by: int | None = Field(default=None, sa_type=BigInteger)
    recorded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    seed_key: str | None = Field(default=None, max_length=160, unique=True)
    news_entry_id: int | None = Field(default=None, foreign_key="news_entry.id")
    revision: int = Field(default=1)
    updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_by: int | None = Field(default=None, sa_type=BigInteger)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deleted_by: int | None = Field(default=None, sa_type=BigInteger)
    delete_reason: str | None = Field(default=None, max_length=500)


class EventRevision(SQLModel, table=True):
    """An event as it was before an edit: the edit history /timeline can show."""

    __tablename__ = "event_revision"
    __table_args__ = (UniqueConstraint("event_id", "revision"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: int = Field(foreign_key="timeline_event.id")
    revision: int
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    precision: str = Field(max_length=8)
    summary_en: str = Field(max_length=1000)
    summary_ko: str | None = Field(default=None, max_length=1000)
    stage: str | None = Field(default=None, max_length=32)
    source_name: str | None = Field(default=None, max_length=200)
    source_url: str | None = Field(default=None, max_length=2000)
    edited_by: int | None = Field(default=None, sa_type=BigInteger)
    edited_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class AuditLog(SQLModel, table=True):
    """Who changed what, when, and what it was before and after."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_guild_at", "guild_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int | None = Field(default=None, sa_type=BigInteger)
    actor_id: int | None = Field(default=None, sa_type=BigInteger)
    action: str = Field(max_length=32)
    target_type: str = Field(max_length=32)
    target_id: str = Field(max_length=64)
    before: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    after: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class GuildSettings(SQLModel, table=True):
    __tablename__ = "guild_settings"

    guild_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    news_channel_id: int | None = Field(default=None, sa_type=BigInteger)
    reminders_channel_id: int | None = Field(default=None, sa_type=BigInteger)
    updates_channel_id: int | None = Field(default=None, sa_type=BigInteger)
    moderator_role_id: int | None = Field(default=None, sa_type=BigInteger)
    ping_role_id: int | None = Field(default=None, sa_type=BigInteger)
    reminder_offsets: str = Field(default="7d,1d,1h", max_length=200)
    language: str | None = Field(default=None, max_length=8)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CustomDeadline(SQLModel, table=True):
    """A deadline a moderator added; reminded like the computed ones."""

    __tablename__ = "custom_deadline"
    __table_args__ = (
        Index("ix_custom_deadline_due", "due_at"),
        Index("ix_custom_deadline_guild_item", "guild_id", "item_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_type=BigInteger)
    item_id: int = Field(foreign_key="item.id")
    title: str = Field(max_length=200)
    due_at: datetime = Field(sa_type=UTCDateTime)
    created_by: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    deleted_by: int | None = Field(default=None, sa_type=BigInteger)


class NewsSource(SQLModel, table=True):
    """A feed, fetched once per poll however many guilds follow it."""

    __tablename__ = "news_source"
    __table_args__ = (Index("ix_news_source_next_poll", "enabled", "next_poll_at"),)

    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(max_length=2000, unique=True)
    name: str = Field(max_length=200)
    from_config: bool = Field(default=False)
    enabled: bool = Field(default=True)
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    initialized_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_polled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    consecutive_failures: int = Field(default=0)
    next_poll_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class GuildSource(SQLModel, table=True):
    """A source a guild added with /source add (configured sources serve every guild)."""

    __tablename__ = "guild_source"

    guild_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    source_id: int = Field(foreign_key="news_source.id", primary_key=True)
    added_by: int | None = Field(default=None, sa_type=BigInteger)
    added_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NewsEntry(SQLModel, table=True):
    __tablename__ = "news_entry"
    __table_args__ = (
        UniqueConstraint("source_id", "entry_key"),
        Index("ix_news_entry_canonical_url", "canonical_url"),
        Index("ix_news_entry_first_seen", "first_seen_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source_id: int = Field(foreign_key="news_source.id")
    entry_key: str = Field(max_length=500)
    url: str = Field(max_length=2000)
    canonical_url: str = Field(max_length=2000)
    title: str = Field(max_length=500)
    title_key: str = Field(max_length=500)
    summary: str | None = Field(default=None, sa_type=Text)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NewsPost(SQLModel, table=True):
    """One entry posted (or being posted) in one guild's news channel."""

    __tablename__ = "news_post"
    __table_args__ = (UniqueConstraint("guild_id", "entry_id"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_type=BigInteger)
    entry_id: int = Field(foreign_key="news_entry.id")
    channel_id: int = Field(sa_type=BigInteger)
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    # pending -> sending -> posted (-> adding -> added | dismissed); failed (with the
    # reason) when Discord refused it or the channel is gone; digested when it was one
    # story too many for one poll and is listed in the digest post ``digest_post_id``.
    state: str = Field(default="pending", max_length=16)
    # "story" (one entry, with the moderators' buttons) or "digest" (the overflow of a poll).
    kind: str = Field(default="story", max_length=16)
    digest_post_id: int | None = Field(default=None)
    outlets: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Sends that failed for a passing reason (Discord 5xx, network); retried until a bound.
    attempts: int = Field(default=0)
    failure: str | None = Field(default=None, max_length=500)
    # The moderator who pressed "Add to timeline" or "Not relevant", and the event added.
    handled_by: int | None = Field(default=None, sa_type=BigInteger)
    handled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    event_id: int | None = Field(default=None)


class PlannedDeadline(SQLModel, table=True):
    """A deadline reminders are planned for: computed from an item's rules, or a guild's own.

    The plan lives in the store, so every process sees the same one; the sweep works out
    the reminders due from these rows and each guild's offsets (storage/queries/reminders.py).
    """

    __tablename__ = "planned_deadline"
    __table_args__ = (
        UniqueConstraint("deadline_key", "deadline_at", "scope"),
        Index("ix_planned_deadline_scope", "scope", "item_id"),
        Index("ix_planned_deadline_custom", "custom_id"),
        # The sweep's candidates: deadlines within one offset of now.
        Index("ix_planned_deadline_at", "deadline_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    # 0 for a deadline every guild shares; the guild id for one only that guild has.
    scope: int = Field(sa_type=BigInteger)
    item_id: int = Field(foreign_key="item.id")
    deadline_key: str = Field(max_length=160)  # "<item key>/<deadline key>"
    kind: str = Field(max_length=32)
    deadline_at: datetime = Field(sa_type=UTCDateTime)
    effect_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    title: str | None = Field(default=None, max_length=200)
    custom_id: int | None = Field(default=None, foreign_key="custom_deadline.id")
    # Since when the bot has known this deadline at this time: reminders due earlier are
    # not owed (a custom deadline: when it was added).
    planned_at: datetime = Field(sa_type=UTCDateTime)


class ReminderOffset(SQLModel, table=True):
    """A reminded guild's offsets as rows (parsed from its settings), for planning in SQL.

    Only guilds with a reminders channel have rows.
    """

    __tablename__ = "reminder_offset"
    __table_args__ = (Index("ix_reminder_offset_offset", "offset_seconds", "guild_id"),)

    guild_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    offset_seconds: int = Field(primary_key=True, sa_column_kwargs={"autoincrement": False})
    # Since when the guild has been reminded at this offset: reminders due earlier are not owed.
    planned_at: datetime = Field(sa_type=UTCDateTime)


class ReminderDelivery(SQLModel, table=True):
    """One reminder (guild × deadline × offset) once it fell due: claimed, then sent or dropped.

    Created by the claim itself: the unique key lets only one claimant create it.
    """

    __tablename__ = "reminder_delivery"
    __table_args__ = (
        UniqueConstraint("guild_id", "deadline_key", "deadline_at", "offset_seconds"),
        Index("ix_reminder_delivery_due", "state", "due_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_type=BigInteger)
    item_id: int = Field(foreign_key="item.id")
    deadline_key: str = Field(max_length=160)
    deadline_at: datetime = Field(sa_type=UTCDateTime)
    offset_seconds: int
    due_at: datetime = Field(sa_type=UTCDateTime)
    kind: str = Field(default="", max_length=32, sa_column_kwargs={"server_default": ""})
    effect_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    title: str | None = Field(default=None, max_length=200)
    state: str = Field(default="claimed", max_length=16)
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    late: bool = Field(default=False)
    # Why a dropped reminder was not posted: its deadline passed, its channel is gone.
    reason: str | None = Field(default=None, max_length=200)


class Announcement(SQLModel, table=True):
    """A moderator's change to announce in the guild's updates channel, recorded with it
    (or a new motion offered in its news channel: ``kind`` "offer").

    Written in the change's own transaction (only when the guild has an updates channel),
    so a crash cannot lose it; claimed (pending -> sending) before it is sent with a nonce,
    and recorded posted or dropped after. ``payload`` holds the change as the announcement
    shows it (views/changes.py), so it can be posted after a restart.
    """

    __tablename__ = "announcement"
    __table_args__ = (
        # Delivery looks for what is still to post; /about counts one guild's.
        Index("ix_announcement_state", "state", "id"),
        Index("ix_announcement_guild", "guild_id", "state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_type=BigInteger)
    # The guild's updates channel when the change was made.
    channel_id: int = Field(sa_type=BigInteger)
    # "change": a timeline change (``event_id``); "offer": a new National Assembly
    # motion offered in the news channel with "Track it" (``bill_no``, SPEC §9).
    kind: str = Field(
        default="change", max_length=16, sa_column_kwargs={"server_default": "change"}
    )
    event_id: int | None = Field(default=None, foreign_key="timeline_event.id")
    bill_no: str | None = Field(default=None, max_length=32)
    action: str = Field(max_length=16)  # "added", "edited", "removed" or "offer"
    payload: dict[str, Any] = Field(sa_type=JSON)
    # pending -> sending -> posted; dropped (with the reason) when the channel is gone,
    # Discord refused it, or passing failures went on too long.
    state: str = Field(default="pending", max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    claimed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_id: int | None = Field(default=None, sa_type=BigInteger)
    posted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Sends that failed for a passing reason (Discord 5xx, the network).
    attempts: int = Field(default=0)
    reason: str | None = Field(default=None, max_length=500)


class BotState(SQLModel, table=True):
    """Small facts the bot keeps between runs (the hash of the last command sync)."""

    __tablename__ = "bot_state"

    key: str = Field(max_length=64, primary_key=True)
    value: str = Field(sa_type=Text)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class CalendarSecret(SQLModel, table=True):
    """A guild's calendar link secret (SPEC §8): whoever has it reads the guild's deadlines.

    Looked up by its unique index, so a request never compares it against other guilds'.
    """

    __tablename__ = "calendar_secret"

    guild_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    secret: str = Field(max_length=64, unique=True)
    created_by: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(sa_type=UTCDateTime)


class CalendarEntry(SQLModel, table=True):
    """A deadline as a guild's calendar feed last gave it: its UID and SEQUENCE (RFC 5545).

    Kept so that a moved deadline keeps its UID with a higher SEQUENCE and one that no longer
    applies stays in the feed as cancelled until its time passes. ``kind``, ``title`` and
    ``effect_at`` let a cancelled entry still be described.
    """

    __tablename__ = "calendar_entry"
    __table_args__ = (UniqueConstraint("guild_id", "uid"),)

    id: int | None = Field(default=None, primary_key=True)
    guild_id: int = Field(sa_type=BigInteger)
    uid: str = Field(max_length=255)
    item_id: int = Field(foreign_key="item.id")
    deadline_key: str = Field(max_length=160)
    kind: str = Field(max_length=32)
    title: str | None = Field(default=None, max_length=200)
    custom_id: int | None = Field(default=None)
    starts_at: datetime = Field(sa_type=UTCDateTime)
    effect_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sequence: int = Field(default=0)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class OfficialSource(SQLModel, table=True):
    """An official record polled for every guild (SPEC §9), with its health like a feed's.

    One row per source (today only the National Assembly's Open API), leased for one
    process per poll (storage/queries/official.py).
    """

    __tablename__ = "official_source"

    key: str = Field(max_length=32, primary_key=True)
    name: str = Field(max_length=200)
    enabled: bool = Field(default=True)
    last_polled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_success_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    consecutive_failures: int = Field(default=0)
    next_poll_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class OfficialBill(SQLModel, table=True):
    """A dismissal motion the official record has shown, once: offered to guilds when new.

    Its first sight records the guilds' offers in the same transaction (storage/queries/
    official.py), so a motion is offered once however often it is polled.
    """

    __tablename__ = "official_bill"

    bill_no: str = Field(max_length=32, primary_key=True)
    name: str = Field(max_length=300)
    proposed_on: date | None = Field(default=None)
    link_url: str | None = Field(default=None, max_length=2000)
    first_seen_at: datetime = Field(sa_type=UTCDateTime)
    # False when first seen but not offered (older than the first poll's horizon).
    offered: bool = Field(default=False)


metadata = SQLModel.metadata
