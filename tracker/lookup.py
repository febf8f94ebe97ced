"""Finding an item from what a member typed: its key or either of its names."""

from __future__ import annotations

from collections.abc import Sequence

from tracker.items import ItemSpec


def _norm(text: str) -> str:
    return "".join(text.casefold().split())


def find_items(items: Sequence[ItemSpec], query: str, *, limit: int = 25) -> list[ItemSpec]:
    """Items whose key or names contain ``query`` (case and spaces ignored), best first."""
    q = _norm(query)
    if not q:
        return list(items[:limit])
    scored: list[tuple[int, int, ItemSpec]] = []
    for index, item in enumerate(items):
        fields = [_norm(item.key), _norm(item.name_en), _norm(item.name_ko)]
        if q in fields:
            score = 0
        elif any(f.startswith(q) for f in fields):
            score = 1
        elif any(q in f for f in fields):
            score = 2
        else:
            continue
        scored.append((score, index, item))
    scored.sort(key=lambda s: (s[0], s[1]))
    return [item for _, _, item in scored[:limit]]


def resolve_item(items: Sequence[ItemSpec], value: str) -> ItemSpec | None:
    """The item ``value`` names exactly (key first, then a name), or None."""
    q = _norm(value)
    for item in items:
        if _norm(item.key) == q:
            return item
    for item in items:
        if q in (_norm(item.name_en), _norm(item.name_ko)):
            return item
    return None
