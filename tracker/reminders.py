"""A reminder as plain data (SPEC §5): one per guild × deadline × offset, due at deadline − offset.

Which reminders are owed is decided in the store (storage/queries/reminders.py).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tracker.model import Deadline

# A reminder later than this after its due time is marked late (SPEC §5: within 60 s).
GRACE = timedelta(seconds=60)
NONCE_LENGTH = 25  # Discord's limit for a message nonce


@dataclass(frozen=True, slots=True)
class Target:
    """A deadline as the reminders see it: which item, what it is, who it is for."""

    item_id: int
    item_key: str
    deadline: Deadline
    scope: int  # 0: every guild shares it; else the guild it belongs to
    title: str | None = None

    @property
    def key(self) -> str:
        return f"{self.item_key}/{self.deadline.key}"


@dataclass(frozen=True, slots=True)
class Due:
    guild_id: int
    target: Target
    offset: timedelta

    @property
    def due_at(self) -> datetime:
        return self.target.deadline.at - self.offset

    @property
    def nonce(self) -> str:
        return reminder_nonce(self.guild_id, self.target.key, self.target.deadline.at, self.offset)


def reminder_nonce(guild_id: int, key: str, deadline_at: datetime, offset: timedelta) -> str:
    """The idempotency key of one reminder: the same inputs always give the same 25 characters."""
    raw = (
        f"{guild_id}|{key}|{deadline_at.astimezone(UTC).isoformat()}|{int(offset.total_seconds())}"
    )
    digest = hashlib.sha256(raw.encode()).digest()
    return base64.b32encode(digest).decode().lower()[:NONCE_LENGTH]
