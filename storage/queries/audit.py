from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditLog, utcnow


async def record_audit(
    session: AsyncSession,
    *,
    guild_id: int | None,
    actor_id: int | None,
    action: str,
    target_type: str,
    target_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    at: datetime | None = None,
) -> AuditLog:
    """``at``: the bot's clock; the wall clock when a caller has none."""
    entry = AuditLog(
        guild_id=guild_id,
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
        at=at or utcnow(),
    )
    session.add(entry)
    return entry
