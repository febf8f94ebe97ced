"""Which items a guild sees: the configured ones (shared) and its own (``/track motion``).

Every command, button, export, reminder and news match asks here, so a guild's own
item can never be seen elsewhere. A guild's list is cached like the other reads and
forgotten through ``Services.changed`` with ``items_scope(guild_id)``.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from news.match import Matcher
from services.context import Services
from storage.models import Item
from storage.notify import Scope
from storage.queries.items import guild_items, items_by_bill_no
from tracker.items import ItemSpec
from tracker.rules import RuleSet, get_rule_set

log = logging.getLogger(__name__)

MOTION_RULE_SET = "kr-assembly-dismissal"
GUILD_ITEM_ZONE = "Asia/Seoul"
# No item has id 0: the scope that stands for "a guild's list of items".
_LIST_ID = 0
_HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7af]")


@dataclass(frozen=True, slots=True)
class GuildItems:
    """The items one guild sees: shared first (configuration order), then its own."""

    specs: tuple[ItemSpec, ...]
    own: frozenset[str]
    bill_nos: dict[str, str]

    def is_own(self, spec: ItemSpec) -> bool:
        return spec.key in self.own

    def by_bill_no(self, bill_no: str) -> ItemSpec | None:
        wanted = bill_no.strip()
        return next((s for s in self.specs if self.bill_nos.get(s.key) == wanted), None)


def items_scope(guild_id: int) -> Scope:
    """What to pass to ``Services.changed`` when a guild's own items change."""
    return Scope.item(_LIST_ID, guild_id)


@cache
def _motion_rules() -> RuleSet[Any, Any]:
    cls = get_rule_set(MOTION_RULE_SET)
    return cls(cls.parse_params({}), ZoneInfo(GUILD_ITEM_ZONE))


def split_keywords(keywords: Sequence[str]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(English, Korean): a keyword with Hangul is matched the Korean way (news/match.py)."""
    en = tuple(k for k in keywords if not _HANGUL.search(k))
    ko = tuple(k for k in keywords if _HANGUL.search(k))
    return en, ko


def spec_of(row: Item) -> ItemSpec:
    """The ItemSpec of a guild's own item row."""
    keywords_en, keywords_ko = split_keywords(row.keywords or [])
    name_en = row.name_en or row.key
    return ItemSpec(
        key=row.key,
        name_en=name_en,
        name_ko=row.name_ko or name_en,
        kind=row.kind,
        rules=_motion_rules(),
        timezone=ZoneInfo(GUILD_ITEM_ZONE),
        keywords_en=keywords_en,
        keywords_ko=keywords_ko,
        bill_no=row.bill_no,
    )


def slug_of(name: str) -> str:
    """The readable part of a generated key: ASCII words of the name, or ``motion``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_name.casefold())
    slug = "-".join(words)[:20].strip("-")
    return slug or "motion"


def _remember_ids(services: Services, rows: Sequence[Item]) -> None:
    # Keys are unique across the item table, so one map of ids serves every guild.
    for row in rows:
        if row.id is not None:
            services.item_ids[row.key] = row.id


async def items_for(services: Services, guild_id: int | None) -> GuildItems:
    """The items ``guild_id`` sees (only the shared ones outside a guild)."""
    shared = tuple(services.tracker.items)
    if guild_id is None:
        return GuildItems(shared, frozenset(), {})
    key = (_LIST_ID, guild_id, "items")
    cached = services.reads.recall(key)
    if isinstance(cached, GuildItems):
        return cached
    generation = services.reads.generation
    async with services.sessions() as session:
        rows = await guild_items(session, guild_id=guild_id)
    _remember_ids(services, rows)
    own = tuple(spec_of(row) for row in rows)
    found = GuildItems(
        shared + own,
        frozenset(s.key for s in own),
        {row.key: row.bill_no for row in rows if row.bill_no},
    )
    services.reads.remember(key, found, generation=generation)
    return found


@dataclass(frozen=True, slots=True)
class OwnedItem:
    spec: ItemSpec
    item_id: int
    guild_id: int
    bill_no: str | None
    hidden: bool


async def every_guild_item(services: Services, *, visible: bool = True) -> list[OwnedItem]:
    """Every guild's own items in one read (reminders, news matching, official data)."""
    async with services.sessions() as session:
        rows = await guild_items(session, visible=visible)
    _remember_ids(services, rows)
    return [
        OwnedItem(
            spec_of(row), int(row.id), int(row.guild_id), row.bill_no, row.hidden_at is not None
        )
        for row in rows
        if row.id is not None and row.guild_id is not None
    ]


def item_id_of(services: Services, spec: ItemSpec) -> int:
    return services.item_ids[spec.key]


class OwnMatcher:
    """Guild items' news keywords: a story matching one counts only in its owner guild."""

    def __init__(self, owned: Sequence[OwnedItem]) -> None:
        self._owner = {o.spec.key: o.guild_id for o in owned}
        self._matcher = Matcher([o.spec for o in owned])

    def matches(self, title: str, summary: str) -> list[str]:
        """Keys of every guild's items the story mentions (which guilds to look at)."""
        return self._matcher.matches(title, summary) if self._owner else []

    def for_guild(self, guild_id: int, keys: Sequence[str]) -> list[str]:
        return [k for k in keys if self._owner.get(k) == guild_id]


async def own_matcher(services: Services) -> OwnMatcher:
    """Built per poll from one read: items come and go without a restart."""
    return OwnMatcher(await every_guild_item(services))


async def linked_items(services: Services, bill_nos: Sequence[str]) -> list[OwnedItem]:
    """Every guild's visible items linked to one of ``bill_nos`` (official data, §9)."""
    async with services.sessions() as session:
        rows = await items_by_bill_no(session, bill_nos=bill_nos)
    _remember_ids(services, rows)
    return [
        OwnedItem(spec_of(row), int(row.id), int(row.guild_id), row.bill_no, False)
        for row in rows
        if row.id is not None and row.guild_id is not None
    ]
