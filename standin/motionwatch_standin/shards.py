"""Gateway sharding: which shard of a sharded bot owns a guild.

Discord routes a guild's events to shard ``(guild_id >> 22) % shard_count``; a
session that IDENTIFYs with ``shard: [id, count]`` sees only those guilds. A
session without ``shard`` is the whole bot (one shard of one).
"""

from __future__ import annotations

from dataclasses import dataclass


def shard_of(guild_id: int, count: int) -> int:
    """The shard (of ``count``) that owns this guild, as Discord computes it."""
    return (guild_id >> 22) % count


@dataclass(frozen=True)
class Shard:
    id: int
    count: int

    @classmethod
    def parse(cls, value: object) -> Shard:
        """The IDENTIFY ``shard`` field; ValueError when it is not ``[id, count]``."""
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        ):
            raise ValueError(f"shard must be [shard_id, num_shards], not {value!r}")
        shard_id, count = value
        if count < 1 or not 0 <= shard_id < count:
            raise ValueError(f"invalid shard {value!r}")
        return cls(shard_id, count)

    def owns(self, guild_id: int | None) -> bool:
        # Direct messages (no guild) go to shard 0, as on Discord.
        if guild_id is None:
            return self.id == 0
        return shard_of(guild_id, self.count) == self.id
