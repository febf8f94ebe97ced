"""Bound and clean what a feed says before it reaches the store or Discord. Pure; no I/O.

A feed is written by someone else, possibly to hurt: everything taken from it goes through
here so the rest of the bot can rely on a few facts.

* Text (titles, summaries, entry keys) has no control characters: C0 and C1 controls become
  spaces (PostgreSQL refuses NUL in text; Discord shows the others as boxes or drops the
  message), lone surrogates and the noncharacters U+FFFE/U+FFFF are removed (they cannot
  be encoded to UTF-8, so neither database driver can send them), and so are the bidi
  embedding, override and isolate controls (they let a title display reversed or
  spliced, and no headline needs them: bidi text displays correctly without them).
  Whitespace runs collapse to one space.
* A title is at most 256 characters, what an embed title can hold; a summary at most
  2,000 (an embed description holds 4,096; the post shows the first 600).
* A link is an absolute http(s) URL with a host, made only of the characters RFC 3986
  allows (anything else percent-encoded as UTF-8, an internationalised host in its
  ASCII form), without credentials, and at most 2,000 characters: the store's column
  (Discord allows 2,048). A link that cannot be made so is "", never shortened: a cut
  URL leads somewhere else.
* A publication time lies between 1990-01-01 and two days after now, else it is None.
  No web feed predates 1990, and the 1970 epoch, year 1 and year 9999 are what broken
  generators write for "unknown"; two days of slack covers time-zone mistakes (at most
  26 hours apart) and clock skew without letting a story pin itself to the top of
  "recent" for months.
* An entry key is at most 500 characters (the store's column); a longer one is replaced
  by its SHA-256, so it stays stable from poll to poll.
"""

from __future__ import annotations

import hashlib
import html
import ipaddress
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

TITLE_MAX = 256
SUMMARY_MAX = 2000
URL_MAX = 2000
KEY_MAX = 500
EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=2)

# C0 and C1 controls: a space, so "a\x00b" does not become one word by accident.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Invisible and unencodable: dropped outright.
_INVISIBLE = re.compile("[\ud800-\udfff\ufffe\uffff\u202a-\u202e\u2066-\u2069]")
# Anything of these in a link means it was not written by a person; it is refused.
_URL_POISON = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# WHATWG URL parsing removes tabs and newlines anywhere in a URL (wrapped <link> text).
_URL_BREAKS = re.compile(r"[\t\n\r]")
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
# RFC 3986: what may appear unencoded after the authority (quote adds A-Za-z0-9_.-~).
_PATH_SAFE = "!$&'()*+,;=:@/%"
_QUERY_SAFE = _PATH_SAFE + "?"
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
_NUMERIC_LABEL = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Work on a link is bounded before any parsing: several times the longest URL kept,
# since percent-encoding can only make it longer.
_URL_INPUT_MAX = URL_MAX * 2


def collapse(text: str) -> str:
    """Controls to spaces, invisible characters dropped, whitespace runs to one space."""
    return " ".join(_INVISIBLE.sub("", _CONTROL.sub(" ", text)).split())


def clip(text: str, limit: int) -> str:
    """At most ``limit`` characters; a cut text ends with an ellipsis."""
    if len(text) <= limit:
        return text
    return text[: limit - 1].rstrip() + "…"


def clean_text(text: str, limit: int) -> str:
    return clip(collapse(text), limit)


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
# Their content is not text; each is skipped up to its end tag.
_SKIP_TAGS = {
    name: re.compile(f"</{name}", re.IGNORECASE)
    for name in ("script", "style", "template", "noscript")
}
# A tag runs to the next ">" unless another "<" comes first; so the scan for one tag never
# passes the next "<", and the whole scan is one pass over the text.
_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^<>]*>")
# Markup is usually a few times its text: past this much markup, or this much text, the
# rest cannot reach the reader.
_MARKUP_FACTOR = 64
_TEXT_FACTOR = 4


def html_text(fragment: str, limit: int) -> str:
    """The plain text of an HTML fragment, character references decoded, then clean_text.

    A hand-written single pass, not html.parser: the HTMLParser of the Python this runs on
    (3.11.7) is quadratic on unclosed tags and comments ("<a " repeated: 16 KB took 2.4 s),
    and every title and summary of a hostile feed goes through here.
    """
    fragment = fragment[: limit * _MARKUP_FACTOR]
    parts: list[str] = []
    size, at, end = 0, 0, len(fragment)
    budget = limit * _TEXT_FACTOR
    while at < end and size < budget:
        lt = fragment.find("<", at)
        text = fragment[at:] if lt == -1 else fragment[at:lt]
        parts.append(text)
        size += len(text)
        if lt == -1:
            break
        at = _skip_markup(fragment, lt, parts)
    return clean_text(html.unescape("".join(parts)), limit)


def _skip_markup(fragment: str, lt: int, parts: list[str]) -> int:
    """Consume the markup at ``lt`` (adding a space for block tags); where text resumes."""
    if fragment.startswith("<!--", lt):
        close = fragment.find("-->", lt + 4)
        return len(fragment) if close == -1 else close + 3
    if fragment.startswith(("<!", "<?"), lt):
        close = fragment.find(">", lt + 2)
        return len(fragment) if close == -1 else close + 1
    tag = _TAG.match(fragment, lt)
    if tag is None:
        parts.append("<")  # a lone "<" is text ("a < b")
        return lt + 1
    name = tag[2].lower()
    if name in _SKIP_TAGS and not tag[1]:
        end_tag = _SKIP_TAGS[name].search(fragment, tag.end())
        return len(fragment) if end_tag is None else end_tag.start()
    if name in _BLOCK_TAGS:
        parts.append(" ")
    return tag.end()


def _host(hostname: str) -> str:
    """The host in the form a URL carries it, or "" when it is not a usable host name."""
    if ":" in hostname:  # urlsplit already removed the brackets of an IPv6 literal
        try:
            address = ipaddress.IPv6Address(hostname)
        except ValueError:
            return ""
        # A zone id ("%eth0") names an interface of the reader's machine, not a site.
        return "" if address.scope_id else f"[{address.compressed}]"
    if len(hostname) > 253:  # before IDNA, whose punycode step is quadratic
        return ""
    try:
        ascii_host = hostname.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return ""
    labels = ascii_host.removesuffix(".").split(".")
    if not ascii_host or len(ascii_host) > 253 or not all(_LABEL.fullmatch(x) for x in labels):
        return ""
    if _NUMERIC_LABEL.fullmatch(labels[-1]):
        # Browsers read a host ending in a number as an IPv4 address ("2130706433",
        # "0x7f.1"); only the plain dotted form is unambiguous.
        try:
            return str(ipaddress.IPv4Address(ascii_host))
        except ValueError:
            return ""
    return ascii_host


def _encode(part: str, safe: str) -> str:
    return quote(_LONE_PERCENT.sub("%25", part), safe=safe)


def clean_url(link: str, base: str) -> str:
    """``link`` made absolute against ``base`` and safe to store and post, or ""."""
    if len(link) > _URL_INPUT_MAX:
        return ""
    link = _URL_BREAKS.sub("", link.strip())
    if not link or _URL_POISON.search(link):
        return ""
    try:
        parts = urlsplit(urljoin(base, link))
        # Both raise ValueError: a port that is not a number in range, a bad IPv6 literal.
        port, hostname = parts.port, parts.hostname
    except ValueError:
        return ""
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not hostname:
        return ""
    host = _host(hostname)
    if not host:
        return ""
    # Credentials are dropped: they leak someone's password to every reader, and
    # "https://trusted.example@evil.example/" is a classic disguise.
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    try:
        url = urlunsplit(
            (
                scheme,
                netloc,
                _encode(parts.path, _PATH_SAFE) or "/",
                _encode(parts.query, _QUERY_SAFE),
                _encode(parts.fragment, _QUERY_SAFE),
            )
        )
    except UnicodeError:
        return ""
    return url if len(url) <= URL_MAX else ""


def sane_published(when: datetime | None, now: datetime) -> datetime | None:
    """``when`` if it is a plausible publication time (see the module docstring), else None."""
    if when is None or not EARLIEST <= when <= now + FUTURE_SLACK:
        return None
    return when


def bounded_key(key: str) -> str:
    """An entry key that fits the store: itself, or the SHA-256 of a longer one."""
    if len(key) <= KEY_MAX:
        return key
    return "sha256:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
