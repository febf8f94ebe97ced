"""A process's share of the guilds (SHARD_COUNT/SHARD_IDS) as a SQL condition."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, literal


@dataclass(frozen=True, slots=True)
class ShardFilter:
    """This process's share of the guilds: those with ``(guild_id >> 22) % count`` in ``ids``."""

    count: int
    ids: frozenset[int]

    def clause(self, guild_id: Any) -> ColumnElement[bool]:
        # PostgreSQL shifts a bigint only by an integer.
        shifted = guild_id.op(">>")(literal(22, Integer()))
        return shifted.op("%")(literal(self.count, Integer())).in_(sorted(self.ids))  # type: ignore[no-any-return]
