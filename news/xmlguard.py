"""Turn a fetched body into the document feedparser reads, or refuse it. Pure; no I/O.

Two dangers sit between the bytes and feedparser.

**Entity declarations.** An internal DTD subset can declare entities that expand
exponentially (the "billion laughs": a 2 KB body, gigabytes of text) or linearly (a 1 MB
entity referenced a million times), or that name files and URLs (XXE). expat's own
amplification limit only starts after 8 MB of output, and feedparser's lenient fallback
parser expands the "safe" entities feedparser keeps. So any document that declares an
entity is refused, and the decision is the XML parser's: expat, the parser feedparser's
strict mode uses, reads the prolog of the very bytes feedparser will be given, with
feedparser's settings, and a handler refuses the first entity declaration it reports,
whether expat would process it or skip it (after an unread external parameter entity,
expat skips later declarations and only its default handler sees them). It does so twice:
on the document as read, and on the document after feedparser's own DOCTYPE rewriting
(`feedparser.sanitizer.replace_doctype`, which re-declares entities it finds on lines of
their own anywhere before the first element, even inside comments); and the entities that
rewriting hands to the lenient parser must be none. Expansion can only follow a
declaration, the declaration must come before the root element, and expat is stopped at
the root element, so the check costs a read of the prolog and nothing is ever expanded.
When expat cannot read the prolog (the body is malformed before its first element), the
lenient parser will get the document, and nothing proves it free of declarations: then
any DOCTYPE with an internal subset, or followed by an ENTITY declaration anywhere, is
refused; nothing else can declare an entity.

**feedparser's regular expressions.** Before parsing, feedparser matches
``^<\\?.*encoding=...`` against the body's first line and ``^\\s*<!ENTITY([^>]*?)>``
against everything before the first element. Both backtrack: 40 KB of
``<?encoding="encoding="...`` on one line held the interpreter (and so the bot's event
loop) for 168 s, 144 KB of ``\\n<!ENTITY`` for 31 s. So the body is decoded here (BOM,
then UTF-16/32 sniffing, then the declared encoding if it is a real text encoding, then
UTF-8, then Windows-1252), characters XML forbids are removed (a stray NUL or form feed
would throw the whole feed to the lenient parser), and feedparser gets UTF-8 behind a
short declaration of this module's own, on a line of its own. A document with more than
``PROLOG_MAX`` bytes before its first element is refused: real feeds have a few hundred.
References to characters XML forbids (``&#0;``) are dropped for the same reason as the
characters themselves.

**feedparser's cost per element.** Linear, but some 40 microseconds an element, and
quadratic in one element's attributes; see ``_shape`` for the bounds (elements, depth,
attributes) and how a document over them is cut or refused.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from xml.parsers import expat

from feedparser.encodings import convert_to_utf8
from feedparser.sanitizer import replace_doctype

# feedparser's regexes above are quadratic in this; 8 KB costs them well under 0.1 s.
PROLOG_MAX = 8192
# A feed of 500 entries (more are not read) has some 20 elements each.
MAX_ELEMENTS = 10_000
MAX_ATTRIBUTES = 200
MAX_DEPTH = 100
DECLARATION = b'<?xml version="1.0" encoding="utf-8"?>\n'
ENTITIES_REFUSED = "refused: the feed declares XML entities"

# Text encodings a feed may declare (by codec name). Not "unicode_escape", "punycode",
# "idna", "utf-7" and the like: Python codecs, but not character sets of documents.
_TEXT_CODECS = frozenset(
    codecs.lookup(name).name
    for name in (
        "utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be",
        "ascii", "latin-1", "iso8859-2", "iso8859-3", "iso8859-4", "iso8859-5", "iso8859-6",
        "iso8859-7", "iso8859-8", "iso8859-9", "iso8859-10", "iso8859-11", "iso8859-13",
        "iso8859-14", "iso8859-15", "iso8859-16", "cp1250", "cp1251", "cp1252", "cp1253",
        "cp1254", "cp1255", "cp1256", "cp1257", "cp1258", "cp874", "tis-620", "koi8-r",
        "koi8-u", "mac-roman", "cp037", "cp500", "shift_jis", "cp932", "euc_jp",
        "iso2022_jp", "euc_kr", "cp949", "johab", "iso2022_kr", "gb2312", "gbk", "gb18030",
        "hz", "big5", "big5hkscs",
    )
)  # fmt: skip
# Names real feeds use that Python does not know, and supersets worth reading instead:
# EUC-KR and GB2312 feeds carry UHC and GBK characters, and a page labelled Latin-1 or
# ASCII is in practice Windows-1252 (as browsers read it).
_ALIASES = {
    "x-sjis": "shift_jis",
    "windows-31j": "cp932",
    "x-euc-jp": "euc_jp",
    "windows-874": "cp874",
    "x-mac-roman": "mac-roman",
    "euc_kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso8859-1": "cp1252",
    "ascii": "cp1252",
}
_WIDE = frozenset(codecs.lookup(n).name for n in ("utf-16", "utf-32")) | {
    "utf-16-le",
    "utf-16-be",
    "utf-32-le",
    "utf-32-be",
}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),  # before UTF-16 LE, whose BOM it starts with
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
# Bounded quantifiers only: this runs on hostile text.
_DECLARED = re.compile(
    rb"\s{0,64}<\?xml\s[^>]{0,200}?\bencoding\s{0,8}=\s{0,8}[\"']([A-Za-z][\w.:-]{0,39})[\"']"
)
_XML_DECLARATION = re.compile(r"<\?xml\s[^>]{0,300}?\?>")
# Characters XML 1.0 forbids even as references; expat stops at the first one.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# Where feedparser's prolog ends: the first "<" and word character (its own test).
_FIRST_ELEMENT = re.compile(rb"<\w")
_CHAR_REF = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));")
# A character UTF-8 decoding produced from more than one byte (not ASCII, not U+FFFD).
_MULTIBYTE = re.compile("[^\x00-\x7f\ufffd]")


@dataclass(frozen=True, slots=True)
class Prepared:
    """The UTF-8 document to give feedparser, or why the body is refused."""

    document: bytes
    encoding: str  # what the body was read as
    problem: str | None = None


def _codec(name: str) -> str | None:
    """The codec to read a declared encoding with, or None when it is not a text encoding."""
    lowered = name.lower()
    try:
        found = codecs.lookup(_ALIASES.get(lowered, lowered)).name
    except LookupError:
        return None
    if found not in _TEXT_CODECS:
        return None
    return codecs.lookup(_ALIASES.get(found, found)).name


def _sniff(body: bytes) -> tuple[str, int] | None:
    """(codec, BOM length) from a byte order mark or, without one, the zeros around "<"."""
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return codec, len(bom)
    head = body[:4]
    if len(head) < 4:
        return None
    zero = [b == 0 for b in head]
    if zero == [True, True, True, False]:
        return "utf-32-be", 0
    if zero == [False, True, True, True]:
        return "utf-32-le", 0
    if zero == [True, False, True, False]:
        return "utf-16-be", 0
    if zero == [False, True, False, True]:
        return "utf-16-le", 0
    if head == b"\x4c\x6f\xa7\x94":  # "<?xm" in EBCDIC
        return "cp037", 0
    return None


def decode(body: bytes) -> tuple[str, str]:
    """The body as text, and the codec it was read with. Never raises."""
    sniffed = _sniff(body)
    if sniffed is not None:
        # A byte order mark, or the layout of wide characters, beats any declaration.
        codec, skip = sniffed
        return body[skip:].decode(codec, "replace"), codec
    match = _DECLARED.match(body[:512])
    declared = _codec(match[1].decode("ascii")) if match else None
    if declared in _WIDE:
        # The declaration was readable as ASCII, so the body is not UTF-16/32.
        declared = None
    for codec in dict.fromkeys((declared or "utf-8", "utf-8")):
        try:
            return body.decode(codec), codec
        except UnicodeDecodeError:
            continue
    if declared is not None and declared != "utf-8":
        return body.decode(declared, "replace"), declared
    text = body.decode("utf-8", "replace")
    if _MULTIBYTE.search(text):
        # Some real UTF-8 sequences: UTF-8 with a few broken bytes, which become U+FFFD.
        return text, "utf-8"
    # Only lone high bytes: a single-byte encoding, most often Windows-1252. It leaves
    # five bytes undefined; Latin-1 reads them (as C1 controls, removed later).
    try:
        return body.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return body.decode("latin-1"), "latin-1"


class _Verdict(Exception):
    """Ends expat's reading of the prolog; ``entities`` says whether it found any."""

    def __init__(self, entities: bool) -> None:
        super().__init__()
        self.entities = entities


ExpatView = Literal["clean", "entities", "unreadable"]


def expat_view(document: bytes) -> ExpatView:
    """What expat, set up as feedparser's strict parser, finds in the document's prolog.

    "clean": the root element was reached with no entity declared (so the strict parser
    expands nothing); "entities": a declaration was found; "unreadable": expat stopped
    on an error before the root element.
    """
    parser = expat.ParserCreate(None, " ")  # as xml.sax.expatreader with namespaces on
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_UNLESS_STANDALONE)
    in_dtd = False
    subset: list[str | None] = []  # the external DTD subset's system id, if any

    def start_doctype(name: str, system: str | None, public: str | None, internal: int) -> None:
        nonlocal in_dtd
        in_dtd = True
        subset.append(system)

    def end_doctype() -> None:
        nonlocal in_dtd
        in_dtd = False

    def entity(*_: object) -> None:
        raise _Verdict(entities=True)

    def external(context: str | None, base: str | None, system: str | None, *_: object) -> int:
        # Only the DTD's own external subset gets here without a declaration first; it is
        # not read (1: go on without it), as feedparser's parser does not read it either.
        if system not in subset:
            raise _Verdict(entities=True)
        return 1

    def default(data: str) -> None:
        # Declarations expat skips (after an unread parameter entity) arrive only here.
        if in_dtd and data.startswith("<!ENTITY"):
            raise _Verdict(entities=True)

    def root(*_: object) -> None:
        raise _Verdict(entities=False)

    parser.StartDoctypeDeclHandler = start_doctype
    parser.EndDoctypeDeclHandler = end_doctype
    parser.EntityDeclHandler = entity
    parser.UnparsedEntityDeclHandler = entity
    parser.ExternalEntityRefHandler = external
    parser.DefaultHandler = default
    parser.StartElementHandler = root
    try:
        parser.Parse(document, True)
    except _Verdict as verdict:
        return "entities" if verdict.entities else "clean"
    except expat.ExpatError:
        return "unreadable"
    return "unreadable"


def may_declare_entities(document: bytes) -> bool:
    """For a document expat cannot read: could any parser find an entity declaration?

    Entities are declared only in a DOCTYPE's internal subset ("[" after "<!DOCTYPE") with
    "<!ENTITY"; either is enough here. Case is ignored for lenient parsers' sake.
    """
    lowered = document.lower()
    at = lowered.find(b"<!doctype")
    if at == -1:
        return False
    if lowered.find(b"<!entity", at) != -1:
        return True
    # The next ">" and "[" are only looked up again once passed: one pass in all, however
    # many DOCTYPEs the body repeats.
    end = len(lowered)
    close = bracket = -1
    while at != -1:
        if close < at:
            close = lowered.find(b">", at) % (end + 1)  # -1 (none) becomes the end
        if bracket < at:
            bracket = lowered.find(b"[", at) % (end + 1)
        if bracket < close:
            return True
        at = lowered.find(b"<!doctype", at + 1)
    return False


def _declares_entities(document: bytes) -> bool:
    view = expat_view(document)
    if view == "entities":
        return True
    return view == "unreadable" and may_declare_entities(document)


class _Cut(Exception):
    """Ends the shape pass: the document is cut at byte ``at``, these elements still open."""

    def __init__(self, at: int, still_open: list[str]) -> None:
        super().__init__()
        self.at, self.still_open = at, still_open


class _Misshapen(Exception):
    pass


def _char_ref(match: re.Match[str]) -> str:
    hexadecimal, decimal = match.group(1), match.group(2)
    code = int(hexadecimal, 16) if hexadecimal else int(decimal)
    allowed = (
        code in (0x9, 0xA, 0xD)
        or 0x20 <= code <= 0xD7FF
        or 0xE000 <= code <= 0xFFFD
        or 0x10000 <= code <= 0x10FFFF
    )
    return match.group(0) if allowed else ""


def _shape(document: bytes) -> tuple[bytes, str | None]:
    """The document cut to ``MAX_ELEMENTS`` elements, or why its shape is refused.

    feedparser spends some 40 microseconds on each element, twice when the strict parser
    gives up, and its strict parser looks attributes up one by one through a list (50,000
    attributes on one element: 27 s). A well-formed document is cut before its element
    number ``MAX_ELEMENTS + 1`` and the elements still open are closed, so it stays
    well-formed and its first entries read as before. One expat cannot read goes to the
    lenient parser, which spends about as long on every "<" (2 MB of "</": 4.5 s): it is
    cut before its ``2 * MAX_ELEMENTS + 1``-th "<", a start and an end tag per element.
    """
    parser = expat.ParserCreate()  # no namespace processing: names as written, to close
    parser.ordered_attributes = True
    still_open: list[str] = []
    count = 0

    def start(name: str, attributes: list[str]) -> None:
        nonlocal count
        count += 1
        if count > MAX_ELEMENTS:
            raise _Cut(parser.CurrentByteIndex, still_open)
        if len(attributes) > 2 * MAX_ATTRIBUTES:  # names and values, one after the other
            raise _Misshapen(f"an element with {len(attributes) // 2} attributes")
        still_open.append(name)
        if len(still_open) > MAX_DEPTH:
            raise _Misshapen(f"elements nested over {MAX_DEPTH} deep")

    def end(name: str) -> None:
        still_open.pop()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    try:
        parser.Parse(document, True)
    except _Cut as cut:
        closing = "".join(f"</{name}>" for name in reversed(cut.still_open))
        return document[: cut.at] + closing.encode("utf-8"), None
    except _Misshapen as refused:
        return b"", f"refused: {refused}"
    except expat.ExpatError:
        beyond = _nth(document, b"<", 2 * MAX_ELEMENTS)
        return (document if beyond == -1 else document[:beyond]), None
    return document, None


def _nth(haystack: bytes, needle: bytes, n: int) -> int:
    """Where the occurrence after the first ``n`` of ``needle`` starts, or -1."""
    if haystack.count(needle) <= n:
        return -1
    at = -1
    for _ in range(n + 1):
        at = haystack.find(needle, at + 1)
    return at


def prepare(body: bytes, headers: Mapping[str, str]) -> Prepared:
    """The document feedparser should parse (given ``headers``), or why not.

    ``headers`` are the response headers that will be passed to feedparser: its encoding
    step depends on them, and the check must see exactly what feedparser's parser will.
    """
    text, encoding = decode(body)
    text = _NOT_XML.sub("", text).lstrip("\ufeff \t\r\n")
    # References to characters XML forbids would stop the strict parser as surely.
    text = _CHAR_REF.sub(_char_ref, text)
    # The body's own declaration goes: its encoding is no longer true, and an overlong
    # one is what feedparser's first regex chokes on. A declaration not at the start
    # stays, and makes the document malformed, as it was.
    if (declaration := _XML_DECLARATION.match(text)) is not None:
        text = text[declaration.end() :]
    document = DECLARATION + text.encode("utf-8")
    if _declares_entities(document):
        return Prepared(b"", encoding, ENTITIES_REFUSED)
    first = _FIRST_ELEMENT.search(document)
    if first is not None and first.start() > PROLOG_MAX:
        return Prepared(
            b"",
            encoding,
            f"refused: {first.start()} bytes before the first element (at most {PROLOG_MAX})",
        )
    # What feedparser.api.parse does next, step for step; the prolog is short now.
    scratch: dict[str, object] = {}
    rewritten = replace_doctype(convert_to_utf8(dict(headers), document, scratch))
    _version, strict_input, loose_entities = rewritten
    if loose_entities or _declares_entities(strict_input):
        return Prepared(b"", encoding, ENTITIES_REFUSED)
    document, problem = _shape(document)
    return Prepared(document, encoding, problem)
