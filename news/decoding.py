"""Undo a response's Content-Encoding while it streams, never producing more than a budget.

httpx inflates each network chunk whole before anyone can count the bytes, and it stacks
as many codings as the server names: "gzip, gzip" of under 2 KB inflates to 2 GB in one
step. Here the raw bytes are decoded by hand instead: at most one coding, each step asked
for no more output than the budget has left, and the compressed bytes capped as well.
"""

from __future__ import annotations

import importlib
import zlib
from typing import Any, Protocol


class BodyRefused(Exception):
    """The body cannot be accepted; the message says why, for a person to read."""


def _bounded_brotli() -> Any | None:
    """The brotli module, if one is installed whose decoder can bound its output (>= 1.2)."""
    for name in ("brotli", "brotlicffi"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        # Before 1.2, Decompressor.process inflates a whole chunk at once: a bomb again.
        if hasattr(module.Decompressor, "can_accept_more_data"):
            return module
    return None


_BROTLI = _bounded_brotli()

#: The codings this module decodes, in the order offered to servers.
SUPPORTED_CODINGS: tuple[str, ...] = ("gzip", "deflate") + (("br",) if _BROTLI else ())

#: The Accept-Encoding header to send: exactly what can be decoded, nothing httpx adds.
ACCEPT_ENCODING = ", ".join(SUPPORTED_CODINGS)

_ALIASES = {"x-gzip": "gzip"}


class _Inflater(Protocol):
    def decode(self, data: bytes, limit: int) -> list[bytes]:
        """Decode `data`, producing `limit` bytes at most (limit >= 1), or about for br."""
        ...


class _ZlibInflater:
    """gzip, or deflate in its zlib wrapper or raw (servers send both for "deflate")."""

    def __init__(self, coding: str) -> None:
        self._coding = coding
        self._head = b""
        self._inflater: Any = None
        if coding == "gzip":
            # 32 + MAX_WBITS: gzip, or a zlib stream mislabelled as gzip.
            self._inflater = zlib.decompressobj(32 + zlib.MAX_WBITS)

    def decode(self, data: bytes, limit: int) -> list[bytes]:
        if self._inflater is None:
            # Which deflate this is shows in the first two bytes; wait for both.
            self._head += data
            if len(self._head) < 2:
                return []
            data, self._head = self._head, b""
            cmf, flg = data[0], data[1]
            # RFC 1950: method 8 (deflate), window at most 32 KB, header a multiple of 31.
            zlib_wrapped = cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf << 8 | flg) % 31 == 0
            self._inflater = zlib.decompressobj(zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS)
        pieces: list[bytes] = []
        try:
            # max_length bounds each step's output (it must stay above 0, which would mean
            # "unbounded"); input a step could not use waits in unconsumed_tail.
            while True:
                piece: bytes = self._inflater.decompress(data, limit)
                pieces.append(piece)
                limit -= len(piece)
                data = self._inflater.unconsumed_tail
                if not data or limit <= 0:
                    break
        except zlib.error as exc:
            raise BodyRefused(f"invalid {self._coding} body ({exc})") from exc
        return pieces


class _BrotliInflater:
    def __init__(self) -> None:
        assert _BROTLI is not None
        self._error: type[Exception] = _BROTLI.error
        self._inflater: Any = _BROTLI.Decompressor()

    def decode(self, data: bytes, limit: int) -> list[bytes]:
        pieces: list[bytes] = []
        try:
            if self._inflater.is_finished():
                return []  # trailing bytes after the stream: ignored, as zlib does
            # The limit is soft (a piece may exceed it by one internal block, 32 KB) but
            # the decoder never inflates a whole chunk in one go.
            while True:
                piece: bytes = self._inflater.process(data, output_buffer_limit=limit)
                pieces.append(piece)
                limit -= len(piece)
                data = b""
                # Input the limit held back stays inside the decoder until drained here.
                if self._inflater.can_accept_more_data() or limit <= 0:
                    break
        except self._error as exc:
            raise BodyRefused(f"invalid br body ({exc})") from exc
        return pieces


def content_codings(values: list[str]) -> list[str]:
    """The codings named by the Content-Encoding header values, in order, without identity."""
    codings = [c.strip().lower() for value in values for c in value.split(",")]
    return [_ALIASES.get(c, c) for c in codings if c and c != "identity"]


class BoundedDecoder:
    """Decodes a body fed in raw pieces, refusing as soon as it outgrows `max_bytes`.

    `max_raw_bytes` caps what is read off the network, so that a stream that inflates to
    nothing (empty deflate blocks, trailing garbage) cannot be sent forever either.
    """

    def __init__(self, codings: list[str], *, max_bytes: int, max_raw_bytes: int) -> None:
        if len(codings) > 1:
            stacked = ", ".join(codings)
            raise BodyRefused(f"refused: stacked content encodings ({stacked}), one at most")
        self.coding = codings[0] if codings else None
        self._inflater: _Inflater | None
        if self.coding is None:
            self._inflater = None
        elif self.coding in ("gzip", "deflate"):
            self._inflater = _ZlibInflater(self.coding)
        elif self.coding == "br" and _BROTLI is not None:
            self._inflater = _BrotliInflater()
        else:
            raise BodyRefused(f"refused: unsupported content encoding {self.coding!r}")
        self._max_bytes = max_bytes
        self._max_raw_bytes = max_bytes if self._inflater is None else max_raw_bytes
        self._raw_size = 0
        self._size = 0
        self._pieces: list[bytes] = []

    def check_declared_length(self, declared: str | None) -> None:
        """Refuse before reading when Content-Length admits a body over the raw cap."""
        if declared is not None and declared.isdigit() and int(declared) > self._max_raw_bytes:
            raise self._raw_too_big()

    def feed(self, raw: bytes) -> None:
        self._raw_size += len(raw)
        if self._raw_size > self._max_raw_bytes:
            raise self._raw_too_big()
        if self._inflater is None:
            self._keep([raw])
            return
        # One byte over the budget is enough to know the body is too big.
        self._keep(self._inflater.decode(raw, self._max_bytes - self._size + 1))

    def body(self) -> bytes:
        # A stream cut short is not an error here (nor in httpx or browsers): the parser
        # will say what is wrong with a truncated document.
        return b"".join(self._pieces)

    def _keep(self, pieces: list[bytes]) -> None:
        for piece in pieces:
            self._size += len(piece)
            if self._size > self._max_bytes:
                suffix = "" if self._inflater is None else f" once {self.coding}-decoded"
                raise BodyRefused(f"body over {self._max_bytes} bytes{suffix}")
            if piece:
                self._pieces.append(piece)

    def _raw_too_big(self) -> BodyRefused:
        if self._inflater is None:
            return BodyRefused(f"body over {self._max_bytes} bytes")
        return BodyRefused(f"{self.coding} body over {self._max_raw_bytes} bytes")
