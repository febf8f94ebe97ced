"""Read an RSS 0.9x/1.0/2.0 or Atom body into plain entries; never raise on hostile input.

feedparser does the format work. What this module adds is the part the rest of the bot
relies on: the body is decoded and checked first (``news.xmlguard``: a feed that declares
XML entities is refused unread), and every entry comes out cleaned and bounded
(``news.clean``): a stable key, an absolute http(s) link or "", a plain-text title and
summary without control characters, and a plausible UTC publication time or None. A body
that is not a feed at all comes back as ``problem`` (a short text the caller records)
instead of an exception, so one broken source cannot break a poll.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import feedparser

from news.clean import (
    KEY_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    bounded_key,
    clean_text,
    clean_url,
    collapse,
    html_text,
    sane_published,
)
from news.xmlguard import prepare

__all__ = [
    "KEY_MAX",
    "MAX_ENTRIES",
    "SUMMARY_MAX",
    "TITLE_MAX",
    "Entry",
    "ParsedFeed",
    "parse_feed",
]

# Entries read from one feed, first ones first (feeds list the newest first). Real feeds
# carry 10 to 100; a feed of 10,000 must not become 10,000 rows every poll.
MAX_ENTRIES = 500

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_MINOR_BOZO: type[Exception] = feedparser.ThingsNobodyCaresAboutButMe


@dataclass(frozen=True, slots=True)
class Entry:
    entry_key: str
    # Absolute http(s) URL, or "" when the entry has no usable link (none, or a
    # javascript:/data: one): the caller decides whether such an entry is worth posting.
    url: str
    # Never empty when url is not: an entry without a title is shown by its link.
    title: str
    summary: str
    published: datetime | None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    entries: tuple[Entry, ...]
    problem: str | None = None


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _plain(value: Any, detail: Any, limit: int) -> str:
    """Text of a feedparser field, stripping markup only when the feed says it is HTML.

    A plain-text title such as "Use <b> for bold" keeps its angle brackets; feedparser
    already marks titles that look like HTML as text/html.
    """
    text = _as_text(value)
    kind = detail.get("type") if isinstance(detail, dict) else None
    if kind in _HTML_TYPES or kind is None:
        return html_text(text, limit)
    return clean_text(text, limit)


def _published(entry: Any, now: datetime) -> datetime | None:
    for field in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get skips FeedParserDict's key aliasing, which warns when it maps
        # published_parsed to updated_parsed; the loop does that fallback explicitly.
        parsed = dict.get(entry, field)
        if parsed is None:
            continue
        try:
            # feedparser's struct_time is already UTC; timegm does not apply local time.
            when = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            continue
        if (sane := sane_published(when, now)) is not None:
            return sane
    return None


def _entry_key(entry: Any, url: str, title: str, published: datetime | None) -> str:
    key = collapse(_as_text(entry.get("id"))) or url
    if not key:
        stamp = published.isoformat() if published else ""
        digest = hashlib.sha256(f"{title}\x00{stamp}".encode()).hexdigest()
        return f"sha256:{digest}"
    return bounded_key(key)


def _summary(entry: Any) -> str:
    if entry.get("summary"):
        return _plain(entry.get("summary"), entry.get("summary_detail"), SUMMARY_MAX)
    content = entry.get("content")
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return _plain(content[0].get("value"), content[0], SUMMARY_MAX)
    return ""


def _entry(entry: Any, source_url: str, now: datetime) -> Entry:
    title = _plain(entry.get("title"), entry.get("title_detail"), TITLE_MAX)
    summary = _summary(entry)
    url = clean_url(_as_text(entry.get("link")), source_url)
    published = _published(entry, now)
    return Entry(
        entry_key=_entry_key(entry, url, title, published),
        url=url,
        # The store and the embed need a title; the link is what the poller showed before.
        title=title or clean_text(url, TITLE_MAX),
        summary=summary,
        published=published,
    )


def parse_feed(body: bytes, *, source_url: str, now: datetime | None = None) -> ParsedFeed:
    """Parse a fetched body. Never raises; a body that is not a feed sets ``problem``.

    ``now`` bounds publication times (see ``news.clean.sane_published``); the wall
    clock when omitted. Bytes (not str) go to feedparser so it never treats the input
    as a URL or file name to open.
    """
    if not body.strip():
        return ParsedFeed((), "empty body")
    now = now or datetime.now(UTC)
    # content-location is the base feedparser resolves relative links against.
    headers = {"content-location": source_url}
    try:
        prepared = prepare(body, headers)
    except Exception as exc:  # the guard is plain code, but a poll must survive anything
        return ParsedFeed((), f"unreadable feed: {type(exc).__name__}")
    if prepared.problem is not None:
        return ParsedFeed((), prepared.problem)
    try:
        # Off: both run feedparser's HTML parser over every content field, which is
        # quadratic on unclosed markup (400 KB of "<!--" took 24 s), and only plain text
        # is kept here anyway (html_text skips scripts and styles by itself).
        parsed = feedparser.parse(
            prepared.document,
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
        raw_entries = list(parsed.get("entries") or [])[:MAX_ENTRIES]
        entries: list[Entry] = []
        for raw in raw_entries:
            try:
                entry = _entry(raw, source_url, now)
            except Exception:  # one odd entry must not hide the others
                continue
            # A truncated body can leave an entry with nothing in it; it is not news.
            if entry.title or entry.summary or entry.url:
                entries.append(entry)
    except Exception as exc:  # feedparser should not raise, but a poll must survive it
        return ParsedFeed((), f"unreadable feed: {type(exc).__name__}")

    if entries:
        return ParsedFeed(tuple(entries))
    reason = parsed.get("bozo_exception") if parsed.get("bozo") else None
    # Encoding and content-type notices (no Content-Type header is normal here, since
    # the body comes without one) do not make a feed unreadable; XML errors do.
    if reason is not None and not isinstance(reason, _MINOR_BOZO):
        return ParsedFeed((), f"not a feed: {clean_text(str(reason), 200) or 'malformed'}")
    if not parsed.get("version"):
        # Well-formed but not RSS or Atom, typically an HTML page.
        return ParsedFeed((), "not a feed: no RSS or Atom element")
    # A real feed that is empty right now is not a problem.
    return ParsedFeed(())
