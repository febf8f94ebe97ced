"""Is this story one already posted? Canonical URLs and near-identical titles. Pure.

SPEC §4: the same story from another outlet (same canonical URL at any time, or a
near-identical title within 48 hours) is not posted again.

``canonical_url`` is deliberately conservative: two URLs it makes equal must be the same
page. It lower-cases scheme and host, drops a default port, the fragment, tracking query
parameters and a trailing slash, and sorts the remaining parameters. It does not strip
"www.", change http to https, or re-encode the path or query: those can name a
different page on some sites, and the outlets this bot follows always link one form of
their own URLs, so the extra folding would buy nothing and risk false merges.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta
from difflib import SequenceMatcher
from typing import TypeVar
from urllib.parse import unquote_plus, urlsplit, urlunsplit

K = TypeVar("K")

DEFAULT_WINDOW = timedelta(hours=48)
# SequenceMatcher ratio on title keys at or above which two titles are one story.
RATIO_THRESHOLD = 0.9
# Keys shorter than this ("Editorial", "News in brief") are too generic to match on.
MIN_KEY_LENGTH = 10
# Token containment: the shorter title must have at least this many words ...
MIN_SHARED_TOKENS = 4
# ... and the longer may add at most this many, enough for " | The Korea Herald".
MAX_EXTRA_TOKENS = 3

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "igshid", "mc_cid", "mc_eid", "ref", "ref_src", "ref_url", "referrer", "cmpid",
        "cmp", "ocid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "s_cid", "sr_share",
        "spm", "at_medium", "at_campaign", "at_source", "ito", "vero_id",
    }
)  # fmt: skip
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")

Candidate = tuple[str, str, datetime | None]


def _is_tracking(param: str) -> bool:
    name = unquote_plus(param.split("=", 1)[0]).strip().lower()
    return name in _TRACKING_PARAMS or name.startswith(_TRACKING_PREFIXES)


def canonical_url(url: str) -> str:
    """The form two links to one page share; see the module docstring for the rules.

    Idempotent. A URL that cannot be parsed comes back stripped but otherwise unchanged.
    """
    # One pass can expose something a second pass would remove (whitespace before a
    # dropped fragment, a slash before stripped whitespace), so repeat to a fixed point;
    # every pass only removes or reorders, so a few passes always suffice in practice.
    result = _canonical_once(url)
    for _ in range(4):
        again = _canonical_once(result)
        if again == result:
            break
        result = again
    return result


def _canonical_once(url: str) -> str:
    url = url.strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    if parts.hostname is not None:
        host = parts.hostname.rstrip(".")  # hostname is already lower-cased
        if ":" in host:  # IPv6 literal keeps its brackets
            host = f"[{host}]"
        if port is not None and port != _DEFAULT_PORTS.get(scheme):
            host = f"{host}:{port}"
        userinfo = netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{host}" if userinfo else host
    path = parts.path
    if netloc and not path:
        path = "/"
    elif len(path) > 1:
        path = path.rstrip("/") or "/"
    # Parameters are kept as written (not decoded and re-encoded) and only reordered.
    params = sorted(p for p in parts.query.split("&") if p and not _is_tracking(p))
    return urlunsplit((scheme, netloc, path, "&".join(params), "")).strip()


def _keep(char: str) -> bool:
    # Letters, marks and numbers; punctuation, symbols, spaces and controls go.
    return unicodedata.category(char)[0] in "LMN"


def title_key(title: str) -> str:
    """NFKC, casefold, then only letters, marks and digits: "S. Korea's" -> "skoreas"."""
    return "".join(c for c in unicodedata.normalize("NFKC", title).casefold() if _keep(c))


def _tokens(title: str) -> set[str]:
    return {key for word in title.split() if (key := title_key(word))}


def near_duplicate(title_a: str, title_b: str) -> bool:
    """True when two titles are the same headline, give or take an outlet's styling.

    Two tests, either is enough:

    * the title keys (punctuation, spacing and case removed) are equal or have a
      ``difflib.SequenceMatcher`` ratio of at least 0.9: punctuation, a changed word or
      two in a long headline;
    * one title's words are all in the other, the shorter has at least four words and
      the longer adds at most three: an outlet suffix such as " - Yonhap" or
      " | The Korea Herald", or a dropped "(LEAD)" tag.

    Titles whose key is under ten characters never match: short generic headlines
    ("Editorial") say nothing about being the same story.
    """
    key_a, key_b = title_key(title_a), title_key(title_b)
    if min(len(key_a), len(key_b)) < MIN_KEY_LENGTH:
        return False
    if key_a == key_b:
        return True
    matcher = SequenceMatcher(None, key_a, key_b, autojunk=False)
    # quick_ratio is an upper bound; skip the full comparison when it cannot pass.
    if matcher.quick_ratio() >= RATIO_THRESHOLD and matcher.ratio() >= RATIO_THRESHOLD:
        return True
    small, large = sorted((_tokens(title_a), _tokens(title_b)), key=len)
    return (
        len(small) >= MIN_SHARED_TOKENS
        and small <= large
        and len(large - small) <= MAX_EXTRA_TOKENS
    )


def find_duplicate(
    candidate: Candidate,
    recent: Iterable[tuple[K, str, str, datetime | None]],
    window: timedelta = DEFAULT_WINDOW,
) -> K | None:
    """Id of the earlier story ``candidate`` repeats, or None.

    ``candidate`` is (canonical_url, title, published); ``recent`` yields
    (id, canonical_url, title, published). A same-URL match wins over a title match and
    counts at any distance in time. A title match counts only when both times are known
    and at most ``window`` apart; a caller with no publication time should pass the
    time it first saw the entry. Among several matches the first in ``recent`` wins,
    so pass the oldest post first to keep editing the original message. URLs are
    canonicalised again here, which is harmless (idempotent) and guards a caller that
    forgot.
    """
    url, title, published = candidate
    url = canonical_url(url) if url else ""
    by_title: K | None = None
    for ident, other_url, other_title, other_published in recent:
        if url and other_url and canonical_url(other_url) == url:
            return ident
        if (
            by_title is None
            and published is not None
            and other_published is not None
            and abs(published - other_published) <= window
            and near_duplicate(title, other_title)
        ):
            by_title = ident
    return by_title
