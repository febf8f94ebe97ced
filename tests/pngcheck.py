"""Enough PNG decoding to tell a rendered page from a blank one (8-bit RGB/RGBA, no interlace)."""

from __future__ import annotations

import struct
import zlib
from collections import Counter

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {2: 3, 6: 4}  # colour type -> bytes per pixel at 8 bits


def decode(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered rows of pixels."""
    assert png.startswith(SIGNATURE), "not a PNG"
    pos, header, data = len(SIGNATURE), b"", bytearray()
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        kind = png[pos + 4 : pos + 8]
        body = png[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            data += body
        elif kind == b"IEND":
            break
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert depth == 8 and colour in CHANNELS and interlace == 0, (depth, colour, interlace)
    bpp = CHANNELS[colour]
    raw = zlib.decompress(bytes(data))
    stride = width * bpp
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for x in range(stride):
            left = line[x - bpp] if x >= bpp else 0
            up = previous[x]
            corner = previous[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                pred = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[x] = (line[x] + pred) & 0xFF
        rows.append(bytes(line))
        previous = line
    if bpp == 4:  # drop alpha: a screenshot is opaque
        rows = [bytes(b for i, b in enumerate(row) if i % 4 != 3) for row in rows]
    return width, height, rows


def ink(png: bytes) -> tuple[int, int, int, float]:
    """Width, height, distinct colours, and the share of pixels not of the commonest colour."""
    width, height, rows = decode(png)
    colours: Counter[bytes] = Counter()
    for row in rows:
        colours.update(row[i : i + 3] for i in range(0, len(row), 3))
    total = width * height
    background = colours.most_common(1)[0][1]
    return width, height, len(colours), (total - background) / total
