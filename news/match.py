"""Which tracked items a news entry is about, by keyword. Pure; no I/O.

English keywords match case-insensitively (after NFKC, so full-width "ＧＳＯＭＩＡ" counts)
as whole words, where "word" means a run of ASCII letters and digits:

* an ASCII letter or digit may not touch the keyword's ends, so "Han" does not match
  "Hanoi" and "pact" does not match "impact";
* anything else may: punctuation ("GSOMIA's", "(GSOMIA)") and, on purpose, Hangul, because
  Korean attaches particles straight to a borrowed word ("GSOMIA를", "GSOMIA는");
* a plural "s"/"es" is allowed after a keyword of four or more characters ending in a
  letter, so "dismissal motion" matches "dismissal motions";
* inside a keyword, a space or hyphen matches any run of spaces and hyphens/dashes, or
  none, so "intel-sharing pact" matches "intel sharing pact" and "Han Min-koo" matches
  "Han Minkoo".

Korean keywords match as substrings with all whitespace removed from both the keyword
and the text, so "해임 건의안" and "해임건의안" find each other. Substring (not word)
matching is right for Korean, where particles and compounds join words without spaces.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from tracker.items import ItemSpec

# Separators a multi-word English keyword may be written with.
_SEPARATORS = "\\s\\-\u2010\u2011\u2012\u2013\u2014\u2015"
_KEYWORD_SEPARATOR = re.compile(f"[{_SEPARATORS}]+")
_ASCII_ALNUM = re.compile(r"[0-9a-z]")


def fold(text: str) -> str:
    """The form both sides are compared in: NFKC then casefold."""
    return unicodedata.normalize("NFKC", text).casefold()


def _compact(text: str) -> str:
    return "".join(fold(text).split())


def english_pattern(keyword: str) -> str | None:
    """Regex source for one English keyword, or None when it has nothing to match."""
    words = [w for w in _KEYWORD_SEPARATOR.split(fold(keyword).strip()) if w]
    if not words:
        return None
    body = f"[{_SEPARATORS}]*".join(re.escape(w) for w in words)
    folded = "".join(words)
    if _ASCII_ALNUM.match(folded[0]):
        body = "(?<![0-9a-z])" + body
    if _ASCII_ALNUM.match(folded[-1]):
        plural = "(?:e?s)?" if len(folded) >= 4 and folded[-1].isalpha() else ""
        body = body + plural + "(?![0-9a-z])"
    return body


@dataclass(frozen=True, slots=True)
class _ItemMatcher:
    key: str
    english: re.Pattern[str] | None
    korean: tuple[str, ...]

    def hit(self, folded: str, compact: str) -> bool:
        if self.english is not None and self.english.search(folded):
            return True
        return any(k in compact for k in self.korean)


class Matcher:
    """Keyword matcher for a fixed set of items; build once, call for every entry."""

    def __init__(self, items: Sequence[ItemSpec]) -> None:
        matchers: list[_ItemMatcher] = []
        for item in items:
            patterns = [p for p in map(english_pattern, item.keywords_en) if p]
            korean = tuple(dict.fromkeys(k for k in map(_compact, item.keywords_ko) if k))
            english = re.compile("|".join(f"(?:{p})" for p in patterns)) if patterns else None
            matchers.append(_ItemMatcher(item.key, english, korean))
        self._items = tuple(matchers)

    def matches(self, title: str, summary: str) -> list[str]:
        """Keys of the items the entry mentions, in the order the items were given.

        Title and summary are searched separately so that a keyword cannot be formed
        across the join between them once spaces are removed.
        """
        fields = [(fold(text), _compact(text)) for text in (title, summary) if text]
        return [
            item.key
            for item in self._items
            if any(item.hit(folded, compact) for folded, compact in fields)
        ]


def matches(items: Sequence[ItemSpec], title: str, summary: str) -> list[str]:
    """Keys of ``items`` whose keywords appear in the title or summary.

    Compiles the keywords on every call; a poll loop should build a Matcher once.
    """
    return Matcher(items).matches(title, summary)
