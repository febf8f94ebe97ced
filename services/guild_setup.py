"""/setup: where the bot speaks, who moderates, when it reminds, in which language."""

from __future__ import annotations

from datetime import timedelta

from services import validation as check
from services.context import BRIEF_CACHE_SECONDS, Services
from services.convert import settings_view
from services.errors import UserError
from storage.engine import writing
from storage.models import GuildSettings
from storage.notify import Scope
from storage.queries.audit import record_audit
from storage.queries.guilds import settings_for_update
from tracker.offsets import OffsetError, format_offsets, parse_offsets

CHANNEL_PURPOSES = ("news", "reminders", "updates")
ROLE_PURPOSES = ("moderator", "ping")
LANGUAGES = ("en", "ko")


def _public(row: GuildSettings) -> dict[str, object]:
    return {
        "news_channel_id": row.news_channel_id,
        "reminders_channel_id": row.reminders_channel_id,
        "updates_channel_id": row.updates_channel_id,
        "moderator_role_id": row.moderator_role_id,
        "ping_role_id": row.ping_role_id,
        "reminder_offsets": row.reminder_offsets,
        "language": row.language,
    }


async def _change(
    services: Services, *, guild_id: int, actor_id: int, action: str, column: str, value: object
) -> GuildSettings:
    async with writing(services.sessions) as session:
        row = await settings_for_update(session, guild_id=guild_id)
        before = _public(row)
        setattr(row, column, value)
        row.updated_at = now = services.clock()
        session.add(row)
        await record_audit(
            session,
            guild_id=guild_id,
            actor_id=actor_id,
            action=action,
            target_type="guild_settings",
            target_id=str(guild_id),
            before=before,
            after=_public(row),
            at=now,
        )
        await services.changed(session, Scope.settings(guild_id))
        await session.commit()
    services.guild_settings.put(guild_id, settings_view(row), keep_for=BRIEF_CACHE_SECONDS)
    return row


async def set_channel(
    services: Services, *, guild_id: int, actor_id: int, purpose: str, channel_id: int
) -> GuildSettings:
    if purpose not in CHANNEL_PURPOSES:
        raise UserError("invalid.choice", field="purpose", choices=", ".join(CHANNEL_PURPOSES))
    return await _change(
        services,
        guild_id=guild_id,
        actor_id=actor_id,
        action="setup.channel",
        column=f"{purpose}_channel_id",
        value=channel_id,
    )


async def set_role(
    services: Services, *, guild_id: int, actor_id: int, purpose: str, role_id: int
) -> GuildSettings:
    if purpose not in ROLE_PURPOSES:
        raise UserError("invalid.choice", field="purpose", choices=", ".join(ROLE_PURPOSES))
    return await _change(
        services,
        guild_id=guild_id,
        actor_id=actor_id,
        action="setup.role",
        column=f"{purpose}_role_id",
        value=role_id,
    )


async def set_reminders(
    services: Services, *, guild_id: int, actor_id: int, offsets: str
) -> list[timedelta]:
    check.clean("offsets", offsets)
    try:
        parsed = parse_offsets(offsets)
    except OffsetError as exc:
        raise UserError("invalid.offsets", reason=str(exc).removeprefix("offsets: ")) from None
    await _change(
        services,
        guild_id=guild_id,
        actor_id=actor_id,
        action="setup.reminders",
        column="reminder_offsets",
        value=format_offsets(parsed),
    )
    return parsed


async def set_language(
    services: Services, *, guild_id: int, actor_id: int, language: str
) -> GuildSettings:
    if language not in LANGUAGES:
        raise UserError("invalid.choice", field="language", choices=", ".join(LANGUAGES))
    return await _change(
        services,
        guild_id=guild_id,
        actor_id=actor_id,
        action="setup.language",
        column="language",
        value=language,
    )
