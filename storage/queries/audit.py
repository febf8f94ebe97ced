from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditLog


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
) -> AuditLog:
    entry = AuditLog(
        guild_id=guild_id,
        actor_id=actor_id,
        action=action,
        target_type=target_type,
        target_id=target_id,
        before=before,
        after=after,
    )
    session.add(entry)
    return entry


async def audit_trail(
    session: AsyncSession,
    *,
    guild_id: int,
    target_type: str | None = None,
    target_id: str | None = None,
) -> Sequence[AuditLog]:
    stmt = select(AuditLog).where(col(AuditLog.guild_id) == guild_id)
    if target_type is not None:
        stmt = stmt.where(col(AuditLog.target_type) == target_type)
    if target_id is not None:
        stmt = stmt.where(col(AuditLog.target_id) == target_id)
    return (await session.exec(stmt.order_by(col(AuditLog.at), col(AuditLog.id)))).all()
