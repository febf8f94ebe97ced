"""Who may do what (SPEC §1), decided from plain facts about the member."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Level(StrEnum):
    MEMBER = "member"
    MODERATOR = "moderator"
    ADMINISTRATOR = "administrator"


def level_of(
    *, manage_guild: bool, role_ids: Iterable[int], moderator_role_id: int | None
) -> Level:
    """Manage Server makes an administrator, who is also a moderator; so does the moderator role."""
    if manage_guild:
        return Level.ADMINISTRATOR
    if moderator_role_id is not None and moderator_role_id in set(role_ids):
        return Level.MODERATOR
    return Level.MEMBER


def allows(level: Level, needed: Level) -> bool:
    order = [Level.MEMBER, Level.MODERATOR, Level.ADMINISTRATOR]
    return order.index(level) >= order.index(needed)
