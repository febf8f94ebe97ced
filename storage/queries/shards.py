"""A process's share of the guilds (SHARD_COUNT/SHARD_IDS, config/shards.py) in SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Integer, literal, true

from config.shards import Shards


def owned(guild_id: Any, shards: Shards) -> ColumnElement[bool]:
    """``guild_id`` is in one of this process's shards (always, when not sharded)."""
    if not shards.sharded:
        return true()
    # PostgreSQL shifts a bigint only by an integer.
    shifted = guild_id.op(">>")(literal(22, Integer()))
    return shifted.op("%")(literal(shards.count, Integer())).in_(sorted(shards.ids))  # type: ignore[no-any-return]
