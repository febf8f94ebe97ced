"""JSON helpers shared by the stand-in: the payload type, snowflakes, timestamps.

Discord sends ids as strings of 64-bit "snowflakes" (milliseconds since the
Discord epoch in the top bits), so the stand-in makes real ones: discord.py
derives `created_at` from them and sorts by them.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any, TypeAlias

JSON: TypeAlias = dict[str, Any]

DISCORD_EPOCH_MS = 1_420_070_400_000


class StandInUsageError(Exception):
    """A test drove the stand-in in a way real Discord could not produce."""


class StandInTimeout(TimeoutError):
    """What a test waited for did not happen in time; the message says what."""


class SnowflakeFactory:
    """Unique, increasing snowflakes; several per millisecond are fine."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        candidate = (int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22
        if candidate <= self._last:
            candidate = self._last + 1
        self._last = candidate
        return candidate

    def next_on_shard(self, shard_id: int, count: int) -> int:
        """A snowflake whose timestamp puts it on shard ``shard_id`` of ``count``
        (``(id >> 22) % count``), at most ``count - 1`` ms ahead of the clock."""
        candidate = self.next()
        if (candidate >> 22) % count == shard_id:
            return candidate
        ms = candidate >> 22
        ms += (shard_id - ms) % count
        self._last = ms << 22
        return self._last


def iso_now() -> str:
    return datetime.now(UTC).isoformat()


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def as_snowflake(value: object) -> int | None:
    """An id the client sent as a string or an int (Discord accepts both)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
