"""Which gateway shards this process holds (``SHARD_COUNT`` and ``SHARD_IDS``, SPEC §6)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import ClassVar

_NO_SHARD = "lists no shard; give this process's shard numbers, e.g. 0,1"


def parse_shard_ids(text: str) -> tuple[int, ...] | None:
    """``SHARD_IDS`` as written (``"0,1"``), in the order given; blank means unset.

    Raises ValueError with a message fit to follow ``SHARD_IDS: `` for anything else:
    an entry that is not a whole number, a negative one, a repeated one, or no entry at all.
    Whether they fit SHARD_COUNT is for `Shards.of` to say, as that needs both.
    """
    if not text.strip():
        return None
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise ValueError(_NO_SHARD)
    for part in parts:
        # isdigit() on ASCII only: int() would also take "1_0", "+1" and other scripts' digits.
        if not (part.isascii() and part.isdigit()):
            shown = repr(part) if part else "an empty entry"
            raise ValueError(
                f"must be comma-separated shard numbers (0 or more), e.g. 0,1; {shown} is not one"
            )
    ids = tuple(int(part) for part in parts)
    _check_repeats(ids)
    return ids


def _check_repeats(ids: Sequence[int]) -> None:
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"repeats {_noun(repeated)} {_join(repeated)}")


def _join(ids: Iterable[int]) -> str:
    return ", ".join(str(i) for i in ids)


def _noun(ids: Sequence[int]) -> str:
    return "shard" if len(ids) == 1 else "shards"


@dataclass(frozen=True, slots=True)
class Shards:
    """This process's shards out of ``count``; a guild belongs to shard ``(id >> 22) % count``.

    `ALL` (both settings unset) is one shard of one: the process holds every guild and
    connects without sharding, exactly as a single process always has.
    """

    count: int
    ids: frozenset[int]

    ALL: ClassVar[Shards]

    def __post_init__(self) -> None:
        if self.count < 1 or not self.ids or not all(0 <= i < self.count for i in self.ids):
            raise ValueError(f"not a valid set of shards: {sorted(self.ids)} of {self.count}")

    @classmethod
    def of(cls, count: int | None, ids: Sequence[int] | None) -> Shards:
        """From the two settings, SHARD_COUNT already 1 or more.

        Raises ValueError with a message fit to follow ``SHARD_IDS: `` when the ids are
        given without a count, repeat one, or do not fit the count.
        """
        if count is None:
            if ids is not None:
                raise ValueError(
                    "needs SHARD_COUNT, the total number of shards across all processes"
                )
            return cls.ALL
        if ids is None:
            # One process holding every shard of several.
            return cls(count, frozenset(range(count)))
        if not ids:
            raise ValueError(_NO_SHARD)
        _check_repeats(ids)
        outside = sorted({i for i in ids if not 0 <= i < count})
        if outside:
            raise ValueError(
                f"{_noun(outside)} {_join(outside)} out of range for SHARD_COUNT={count} "
                f"(shards are numbered 0 to {count - 1})"
            )
        return cls(count, frozenset(ids))

    @property
    def sharded(self) -> bool:
        """Whether the gateway connection is sharded (one shard of one is the same as none)."""
        return self.count > 1

    def owns(self, guild_id: int) -> bool:
        """Whether this process holds the shard of ``guild_id``, so posts there are its to make."""
        return (guild_id >> 22) % self.count in self.ids

    def __str__(self) -> str:
        if not self.sharded:
            return "all guilds (not sharded)"
        ids = sorted(self.ids)
        return f"{_noun(ids)} {_join(ids)} of {self.count}"


Shards.ALL = Shards(1, frozenset({0}))
