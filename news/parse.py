"""Read an RSS 0.9x/1.0/2.0 or Atom body into plain entries; never raise on hostile input.

feedparser does the format work. What this module adds is the part the rest of the bot
relies on: every entry has a stable key, an absolute http(s) link, plain-text title and
summary of bounded length, and a UTC publication time or None. A body that is not a
feed at all comes back as ``problem`` (a short text the caller records) instead of an
exception, so one broken source cannot break a poll.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

TITLE_MAX = 500
SUMMARY_MAX = 2000
# Keys longer than this are stored as a hash: the key is a database column, and a feed
# that puts a whole article into <guid> must not make rows huge.
KEY_MAX = 512

_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Tags after which text reads as a new word; inline tags (<b>, <a>) add no space so
# "<b>G</b>SOMIA" stays one word.
_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt",
        "figcaption", "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header",
        "hr", "img", "li", "main", "nav", "ol", "p", "pre", "section", "table", "td",
        "th", "tr", "ul",
    }
)  # fmt: skip
_MINOR_BOZO: type[Exception] = feedparser.ThingsNobodyCaresAboutButMe
_SKIP_TAGS = frozenset({"script", "style", "template", "noscript"})
# C0/C1 controls other than whitespace: they have no place in a Discord embed.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


@dataclass(frozen=True, slots=True)
class Entry:
    entry_key: str
    # Absolute http(s) URL, or "" when the entry has no usable link (none, or a
    # javascript:/data: one): the caller decides whether such an entry is worth posting.
    url: str
    title: str
    summary: str
    published: datetime | None


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    entries: tuple[Entry, ...]
    problem: str | None = None


class _TextExtractor(HTMLParser):
    """Collect the text of an HTML fragment; character references are decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth += 1
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def strip_html(fragment: str) -> str:
    """Plain text of an HTML fragment with whitespace collapsed."""
    extractor = _TextExtractor()
    try:
        extractor.feed(fragment)
        extractor.close()
    except Exception:  # HTMLParser is lenient, but a parse error must not lose the entry.
        return collapse(fragment)
    return collapse("".join(extractor.parts))


def collapse(text: str) -> str:
    return " ".join(_CONTROL.sub(" ", text).split())


def clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _plain(value: Any, detail: Any) -> str:
    """Text of a feedparser field, stripping markup only when the feed says it is HTML.

    A plain-text title such as "Use <b> for bold" keeps its angle brackets; feedparser
    already marks titles that look like HTML as text/html.
    """
    text = _as_text(value)
    kind = detail.get("type") if isinstance(detail, dict) else None
    if kind in _HTML_TYPES or kind is None:
        return strip_html(text)
    return collapse(text)


def _published(entry: Any) -> datetime | None:
    for field in ("published_parsed", "updated_parsed", "created_parsed"):
        # dict.get skips FeedParserDict's key aliasing, which warns when it maps
        # published_parsed to updated_parsed; the loop does that fallback explicitly.
        parsed = dict.get(entry, field)
        if parsed is None:
            continue
        try:
            # feedparser's struct_time is already UTC; timegm does not apply local time.
            return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            continue
    return None


def _absolute_url(link: str, source_url: str) -> str:
    if not link:
        return ""
    try:
        url = urljoin(source_url, link.strip())
        parts = urlsplit(url)
    except ValueError:  # e.g. a malformed IPv6 literal or port
        return ""
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return ""
    return url


def _entry_key(entry: Any, url: str, title: str, published: datetime | None) -> str:
    key = collapse(_as_text(entry.get("id"))) or url
    if not key:
        stamp = published.isoformat() if published else ""
        digest = hashlib.sha256(f"{title}\x00{stamp}".encode()).hexdigest()
        return f"sha256:{digest}"
    if len(key) > KEY_MAX:
        return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
    return key


def _summary(entry: Any) -> str:
    if entry.get("summary"):
        return _plain(entry.get("summary"), entry.get("summary_detail"))
    content = entry.get("content")
    if isinstance(content, list) and content and isinstance(content[0], dict):
        return _plain(content[0].get("value"), content[0])
    return ""


def _entry(entry: Any, source_url: str) -> Entry:
    title = clip(_plain(entry.get("title"), entry.get("title_detail")), TITLE_MAX)
    summary = clip(_summary(entry), SUMMARY_MAX)
    url = _absolute_url(_as_text(entry.get("link")), source_url)
    published = _published(entry)
    return Entry(
        entry_key=_entry_key(entry, url, title, published),
        url=url,
        title=title,
        summary=summary,
        published=published,
    )


def _declares_entities(body: bytes) -> bool:
    """True when the document declares XML entities (entity-expansion bombs, XXE).

    One straight pass, so a hostile body cannot make it slow. NULs are dropped so
    UTF-16/32 bodies are caught too; comments and CDATA, where the text is harmless,
    are skipped.
    """
    text = body.replace(b"\x00", b"")
    i = 0
    while (i := text.find(b"<!", i)) != -1:
        if text.startswith(b"<!ENTITY", i):
            return True
        for opening, closing in ((b"<![CDATA[", b"]]>"), (b"<!--", b"-->")):
            if text.startswith(opening, i):
                end = text.find(closing, i + len(opening))
                if end == -1:
                    return False
                i = end + len(closing)
                break
        else:
            i += 2
    return False


def parse_feed(body: bytes, *, source_url: str) -> ParsedFeed:
    """Parse a fetched body. Never raises; a body that is not a feed sets ``problem``.

    Bytes (not str) go to feedparser so it never treats the input as a URL or file name
    to open. A body that declares XML entities is refused before parsing: feedparser
    keeps such declarations when they share a line, and expat then expands them until
    its own limit trips, seconds of blocked event loop for a body under the size cap.
    """
    if not body.strip():
        return ParsedFeed((), "empty body")
    if _declares_entities(body):
        return ParsedFeed((), "refused: the feed declares XML entities")
    try:
        # content-location makes feedparser resolve relative links inside content too.
        parsed = feedparser.parse(body, response_headers={"content-location": source_url})
        raw_entries = list(parsed.get("entries") or [])
        entries: list[Entry] = []
        for raw in raw_entries:
            try:
                entry = _entry(raw, source_url)
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
        return ParsedFeed((), f"not a feed: {clip(collapse(str(reason)), 200) or 'malformed'}")
    if not parsed.get("version"):
        # Well-formed but not RSS or Atom, typically an HTML page.
        return ParsedFeed((), "not a feed: no RSS or Atom element")
    # A real feed that is empty right now is not a problem.
    return ParsedFeed(())
