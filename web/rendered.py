"""Rendered pages kept while what they were made from is unchanged."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable


class RenderedPages:
    """HTML by page key, valid while its basis holds the very same objects (``is``).

    The basis is what the read cache returned (services/readcache.py): it hands back the
    same objects until a write or its expiry replaces them, so a page made from them is
    current exactly as long as they are; no separate invalidation is needed. Holding the
    objects, not their ids, keeps an id from being reused for something else meanwhile.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._pages: OrderedDict[Hashable, tuple[tuple[object, ...], str]] = OrderedDict()

    def get(self, key: Hashable, basis: tuple[object, ...]) -> str | None:
        entry = self._pages.get(key)
        if entry is None:
            return None
        kept, text = entry
        if len(kept) != len(basis) or any(a is not b for a, b in zip(kept, basis, strict=True)):
            return None
        self._pages.move_to_end(key)
        return text

    def put(self, key: Hashable, basis: tuple[object, ...], text: str) -> None:
        self._pages[key] = (basis, text)
        self._pages.move_to_end(key)
        while len(self._pages) > self._size:
            self._pages.popitem(last=False)
