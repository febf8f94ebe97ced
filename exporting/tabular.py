"""A timeline as CSV or JSON with every stored field, read back exactly (round trip).

CSV: UTF-8 with a byte-order mark (so spreadsheets read Korean), a header row, every
value quoted and a missing one (None) left empty and unquoted, so that None and ""
stay apart; the standard library's csv module cannot tell them apart on reading, hence
the small reader here. Nothing is prefixed against spreadsheet formulas: that would
change the text, and the file is data to be read back, not a sheet to open.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from views.export import EXPORT_FIELDS, ExportedEvent

_INTS = frozenset({"id", "revision"})
_SNOWFLAKES = frozenset({"guild_id", "recorded_by", "updated_by"})
_TIMES = frozenset({"occurred_at", "recorded_at", "updated_at"})
_UNQUOTED = re.compile(r'[^,"\r\n]*')


class ExportFormatError(ValueError):
    """A file that is not a timeline export."""


def _text(name: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _value(name: str, text: str | None) -> Any:
    if text is None:
        return None
    convert: Callable[[str], Any] = str
    if name in _INTS or name in _SNOWFLAKES:
        convert = int
    elif name in _TIMES:
        convert = datetime.fromisoformat
    try:
        return convert(text)
    except ValueError:
        raise ExportFormatError(f"{name}: {text[:40]!r} is not a valid value") from None


def _event(values: dict[str, str | None]) -> ExportedEvent:
    return ExportedEvent(**{name: _value(name, values.get(name)) for name in EXPORT_FIELDS})


# -- CSV -----------------------------------------------------------------------------------


def _cell(text: str | None) -> str:
    return "" if text is None else '"' + text.replace('"', '""') + '"'


def to_csv(events: Sequence[ExportedEvent]) -> bytes:
    lines = [",".join(_cell(name) for name in EXPORT_FIELDS)]
    for event in events:
        lines.append(",".join(_cell(_text(name, getattr(event, name))) for name in EXPORT_FIELDS))
    return ("\r\n".join(lines) + "\r\n").encode("utf-8-sig")


def _records(text: str) -> list[list[str | None]]:
    """RFC 4180 records; an empty unquoted field is None, a quoted one a string."""
    records: list[list[str | None]] = []
    record: list[str | None] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == '"':
            parts: list[str] = []
            j = i + 1
            while True:
                k = text.find('"', j)
                if k < 0:
                    raise ExportFormatError("a quoted field is not closed")
                parts.append(text[j:k])
                if text.startswith('""', k):
                    parts.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            record.append("".join(parts))
        else:
            match = _UNQUOTED.match(text, i)
            assert match is not None  # the pattern matches the empty string
            record.append(match.group() or None)
            i = match.end()
        if i >= n:
            break
        if text[i] == ",":
            i += 1
            if i == n:
                record.append(None)
        elif text.startswith("\r\n", i) or text[i] == "\n":
            i += 2 if text[i] == "\r" else 1
            records.append(record)
            record = []
        else:
            raise ExportFormatError(f"unexpected {text[i]!r} after a field")
    if record:
        records.append(record)
    return records


def from_csv(data: bytes) -> list[ExportedEvent]:
    records = _records(data.decode("utf-8-sig"))
    if not records or tuple(records[0]) != EXPORT_FIELDS:
        raise ExportFormatError("the header row is not a timeline export's")
    out: list[ExportedEvent] = []
    for number, record in enumerate(records[1:], start=2):
        if len(record) != len(EXPORT_FIELDS):
            raise ExportFormatError(f"row {number} has {len(record)} fields")
        out.append(_event(dict(zip(EXPORT_FIELDS, record, strict=True))))
    return out


# -- JSON ----------------------------------------------------------------------------------


def to_json(events: Sequence[ExportedEvent]) -> bytes:
    """Discord ids as strings (JavaScript loses digits of larger numbers), times in ISO 8601."""
    rows: list[dict[str, object]] = []
    for event in events:
        row: dict[str, object] = {}
        for name in EXPORT_FIELDS:
            value = getattr(event, name)
            row[name] = value if name in _INTS else _text(name, value)
        rows.append(row)
    document = {"fields": list(EXPORT_FIELDS), "events": rows}
    return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")


def from_json(data: bytes) -> list[ExportedEvent]:
    try:
        document = json.loads(data.decode("utf-8"))
        rows = document["events"]
    except (ValueError, KeyError, TypeError):
        raise ExportFormatError("not a timeline export") from None
    out: list[ExportedEvent] = []
    for row in rows:
        if not isinstance(row, dict) or set(row) != set(EXPORT_FIELDS):
            raise ExportFormatError("an event without the export's fields")
        out.append(_event({n: None if row[n] is None else str(row[n]) for n in EXPORT_FIELDS}))
    return out
