"""One answer of the Open API, read: its rows, its total, or the code it failed with.

Every answer is hostile until read: anything but the shapes recorded in
``shared/na-open-api.md`` is a failure with a code of our own, never an exception
of the JSON or type machinery.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OK = "INFO-000"
NO_DATA = "INFO-200"
# Codes of our own for failures the service does not name.
MALFORMED = "MALFORMED"
# Messages are recorded on the source's health and shown in /source list: bounded.
MESSAGE_LIMIT = 200


class ApiError(Exception):
    """The service answered with a failure (an ERROR-* code, an unknown code, a bad shape)."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code[:40]
        self.message = message[:MESSAGE_LIMIT]
        super().__init__(f"{self.code}: {self.message}")


@dataclass(frozen=True, slots=True)
class Page:
    rows: tuple[Mapping[str, Any], ...]
    total: int


def _result(value: Any) -> tuple[str, str] | None:
    if not isinstance(value, Mapping):
        return None
    code, message = value.get("CODE"), value.get("MESSAGE")
    if not isinstance(code, str):
        return None
    return code.strip(), str(message or "").strip()


def _checked(code: str, message: str) -> None:
    if code == OK:
        return
    # Anything else that is not "no data" is the source failing (na-open-api.md).
    raise ApiError(code, message or "no message")


def read_page(service: str, body: bytes | str) -> Page:
    """The rows of one page; an empty page for INFO-200; ApiError for anything else."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(MALFORMED, "the answer is not JSON") from None
    if not isinstance(data, Mapping):
        raise ApiError(MALFORMED, "the answer is not a JSON object")
    top = _result(data.get("RESULT"))
    if top is not None:
        code, message = top
        if code == NO_DATA:
            return Page(rows=(), total=0)
        _checked(code, message)
        raise ApiError(MALFORMED, f"{code} without the service's rows")
    parts = data.get(service)
    if not isinstance(parts, Sequence) or isinstance(parts, str | bytes):
        raise ApiError(MALFORMED, f"no {service} in the answer")
    total: int | None = None
    rows: list[Mapping[str, Any]] = []
    result: tuple[str, str] | None = None
    for part in parts:
        if not isinstance(part, Mapping):
            raise ApiError(MALFORMED, "an unexpected part in the answer")
        head = part.get("head")
        if isinstance(head, Sequence) and not isinstance(head, str | bytes):
            for entry in head:
                if not isinstance(entry, Mapping):
                    continue
                if "list_total_count" in entry:
                    total = _count(entry["list_total_count"])
                if "RESULT" in entry:
                    result = _result(entry["RESULT"])
        found = part.get("row")
        if found is not None:
            if not isinstance(found, Sequence) or isinstance(found, str | bytes):
                raise ApiError(MALFORMED, "rows that are not a list")
            rows.extend(r for r in found if isinstance(r, Mapping))
    if result is None:
        raise ApiError(MALFORMED, "no result code in the answer")
    code, message = result
    if code == NO_DATA:
        return Page(rows=(), total=0)
    _checked(code, message)
    return Page(rows=tuple(rows), total=total if total is not None else len(rows))


def _count(value: Any) -> int:
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise ApiError(MALFORMED, "a total that is not a number") from None
    if count < 0:
        raise ApiError(MALFORMED, "a negative total")
    return count
